//! `init` and `id`.

use passport_node::{Config, KdfParams, Unlock};
use serde_json::json;

use crate::{args::InitArgs, context::Context, output};

/// `passport init`: keys, the encrypted store, a config file with every default.
pub(crate) fn init(ctx: &Context, args: InitArgs) -> anyhow::Result<()> {
    if ctx.home.exists() {
        return Err(passport_node::NodeError::AlreadyExists {
            home: ctx.home.dir().to_path_buf(),
        }
        .into());
    }
    let unlock = if args.no_passphrase {
        Unlock::KeyFile
    } else {
        Unlock::Passphrase(ctx.passphrase(true)?)
    };
    let keys = ctx.home.create(&unlock, KdfParams::default())?;
    let id = keys.identity.id();
    drop(keys);
    if !ctx.home.config_path().exists() {
        let text = toml_defaults()?;
        std::fs::write(ctx.home.config_path(), text)?;
    }
    // Made now so a shop backend can read it before the first start.
    ctx.home.api_token()?;
    if ctx.json {
        output::json(&json!({ "id": id, "home": ctx.home.dir() }))?;
    } else {
        output::line(format!(
            "Created a passport in {}",
            ctx.home.dir().display()
        ));
        output::line(format!("Your passport id: {id}"));
        ctx.note(
            "Next: add fields (`passport set name.given Ada`), then start your node (`passport node`).",
        );
    }
    Ok(())
}

fn toml_defaults() -> anyhow::Result<String> {
    let body = toml::to_string(&Config::default())?;
    Ok(format!(
        "# Passport node settings. Every key is optional; these are the defaults.\n# See example.config.toml in the Passport repository for what each one means.\n\n{body}"
    ))
}

/// `passport id`: readable without unlocking.
pub(crate) fn id(ctx: &Context, qr: bool) -> anyhow::Result<()> {
    ctx.require_home()?;
    let id = ctx.home.public_id()?;
    if ctx.json {
        return output::json(&json!({ "id": id, "short": id.fmt_short() }));
    }
    output::line(id.to_string());
    if qr {
        let code = qrcode::QrCode::new(id.to_string().as_bytes())?;
        let art = code
            .render::<qrcode::render::unicode::Dense1x2>()
            .quiet_zone(true)
            .build();
        output::line(art);
    }
    Ok(())
}
