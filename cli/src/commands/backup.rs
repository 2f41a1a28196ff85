//! `backup` (and `backup --verify`) and `restore`.

use anyhow::{Context as _, anyhow, bail};
use passport_node::{
    KdfParams, NodeError, Unlock,
    backup::{self, BackupSummary, age_secret, restore::Restored},
    http::{BACKUP_SUMMARY_HEADER, views::ErrorBody},
    node::system_now,
};
use serde_json::json;

use crate::{
    args::{BackupArgs, RestoreArgs},
    context::{Conn, Context},
    output,
};

/// `passport backup FILE`: through the running node if there is one (a
/// consistent snapshot while it serves), else from the store itself.
pub(crate) async fn backup(ctx: &Context, args: BackupArgs) -> anyhow::Result<()> {
    if args.verify {
        let passphrase = ctx.backup_passphrase(args.backup_passphrase_file.as_deref(), false)?;
        let summary = backup::verify_file(&args.file, age_secret(&passphrase))?;
        return report(ctx, &summary, &args.file, "verified");
    }
    ctx.require_home()?;
    if args.file.exists() {
        bail!(
            "{} exists already: choose another name or remove it",
            args.file.display()
        );
    }
    let passphrase = ctx.backup_passphrase(args.backup_passphrase_file.as_deref(), true)?;
    let config = std::fs::read_to_string(ctx.home.config_path()).ok();
    let summary = match ctx.running().await? {
        Some(Conn::Remote { base, token, http }) => {
            let response = http
                .post(format!("{base}/v1/backup"))
                .bearer_auth(token)
                .json(&json!({ "passphrase": passphrase.as_str(), "config": config }))
                .send()
                .await
                .with_context(|| format!("the node's API at {base} did not answer"))?;
            let status = response.status();
            let summary = response
                .headers()
                .get(BACKUP_SUMMARY_HEADER)
                .and_then(|v| serde_json::from_slice::<BackupSummary>(v.as_bytes()).ok());
            let bytes = response.bytes().await?;
            if !status.is_success() {
                let message = serde_json::from_slice::<ErrorBody>(&bytes)
                    .map_or_else(|_| status.to_string(), |body| body.error);
                bail!(message);
            }
            let summary = summary.ok_or_else(|| {
                anyhow!("the node's answer has no {BACKUP_SUMMARY_HEADER} header: is it another version of Passport?")
            })?;
            backup::write_new_file(&args.file, |out| {
                out.write_all(&bytes)
                    .map_err(|source| backup::BackupError::Io {
                        action: "write",
                        path: args.file.clone(),
                        source,
                    })
            })?;
            summary
        }
        _ => ctx.open_node()?.backup_to_file(
            age_secret(&passphrase),
            None,
            config,
            system_now(),
            &args.file,
        )?,
    };
    report(ctx, &summary, &args.file, "written")
}

fn report(
    ctx: &Context,
    summary: &BackupSummary,
    file: &std::path::Path,
    done: &str,
) -> anyhow::Result<()> {
    if ctx.json {
        let mut value = serde_json::to_value(summary)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("file".into(), json!(file));
        }
        return output::json(&value);
    }
    output::line(format!(
        "Backup {} {done}: passport {}",
        file.display(),
        summary.id
    ));
    output::line(format!("  made:     {}", output::time(summary.made_at)));
    output::line(format!(
        "  holds:    {} records: {} fields, {} grants given, {} grants held, {} audit entries{}",
        summary.records,
        summary.fields,
        summary.grants_given,
        summary.grants_held,
        summary.audit_entries,
        if summary.has_config {
            ", config.toml"
        } else {
            ""
        }
    ));
    output::line(format!(
        "  audit:    {}",
        if summary.audit_intact {
            "the hash chain verifies"
        } else {
            "the hash chain has problems (run `passport audit --verify` on the node it came from)"
        }
    ));
    if done == "written" {
        ctx.note(
            "Keep it away from this machine (another disk, a cloud folder): it is encrypted with your backup passphrase, and `passport restore FILE --home DIR` brings it back. `age -d FILE` opens it too.",
        );
    }
    Ok(())
}

/// `passport restore FILE --home DIR`.
pub(crate) fn restore(ctx: &Context, args: RestoreArgs) -> anyhow::Result<()> {
    if ctx.home.exists() {
        return Err(NodeError::AlreadyExists {
            home: ctx.home.dir().to_path_buf(),
        }
        .into());
    }
    let backup_passphrase = ctx.backup_passphrase(args.backup_passphrase_file.as_deref(), false)?;
    // The backup opens before the new home's passphrase is asked for; restoring
    // reads it to the end.
    backup::check_passphrase(&args.file, age_secret(&backup_passphrase))?;
    let unlock = if args.no_passphrase {
        Unlock::KeyFile
    } else {
        Unlock::Passphrase(ctx.passphrase(true)?)
    };
    let Restored { backup, epoch } = backup::restore::restore_file(
        &args.file,
        age_secret(&backup_passphrase),
        &ctx.home,
        &unlock,
        KdfParams::default(),
        system_now(),
    )?;
    ctx.home.api_token()?;
    if ctx.json {
        let mut value = serde_json::to_value(&backup)?;
        if let Some(map) = value.as_object_mut() {
            map.insert("home".into(), json!(ctx.home.dir()));
            map.insert("restored_epoch".into(), json!(epoch));
        }
        return output::json(&value);
    }
    output::line(format!(
        "Restored passport {} into {} (epoch {epoch}).",
        backup.id,
        ctx.home.dir().display()
    ));
    output::line(format!(
        "  from a backup made {}: {} fields, {} grants given, {} grants held, {} audit entries",
        output::time(backup.made_at),
        backup.fields,
        backup.grants_given,
        backup.grants_held,
        backup.audit_entries,
    ));
    ctx.note(format!(
        "Next: start it with `passport --home {} node`. It publishes its new address, and merchants holding live grants reach it there. If the old machine comes back, its node sees this copy's record and stops itself.",
        ctx.home.dir().display()
    ));
    Ok(())
}
