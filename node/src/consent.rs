//! The consent engine: given a verified request and the person's standing policies,
//! decide allow (which fields, how long), deny (why) or ask. Pure: no storage, no
//! clock; it sees only what it is given.

use std::collections::BTreeSet;

use passport_protocol::{FieldName, PassportId, Request, Timestamp};
use serde::{Deserialize, Serialize};

use crate::vault::Sensitivity;

/// Allow or deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Effect {
    /// Release without asking.
    Allow,
    /// Refuse without asking.
    Deny,
}

impl Effect {
    /// Its name, as in JSON: `allow` or `deny`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::Deny => "deny",
        }
    }
}

/// Which fields a policy covers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldScope {
    /// Every field of the normal class.
    pub any_normal: bool,
    /// These fields by name, sensitive ones included.
    pub named: BTreeSet<FieldName>,
}

impl FieldScope {
    /// Every normal field (sensitive ones are still asked).
    pub fn any_normal() -> Self {
        Self {
            any_normal: true,
            named: BTreeSet::new(),
        }
    }

    /// Exactly these fields.
    pub fn only(fields: impl IntoIterator<Item = FieldName>) -> Self {
        Self {
            any_normal: false,
            named: fields.into_iter().collect(),
        }
    }

    fn covers(&self, field: &FieldName, sensitivity: Sensitivity) -> bool {
        self.named.contains(field) || (self.any_normal && sensitivity == Sensitivity::Normal)
    }

    fn touches(&self, field: &FieldName) -> bool {
        self.any_normal || self.named.contains(field)
    }
}

/// A standing decision of the person's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Its id, for listing and removing (assigned when the policy is added).
    #[serde(default)]
    pub id: u64,
    /// Allow or deny.
    pub effect: Effect,
    /// Only this merchant (any merchant if `None`, `null` in JSON).
    #[serde(default)]
    pub merchant: Option<PassportId>,
    /// Only this purpose, compared case-insensitively (any if `None`, `null` in
    /// JSON).
    #[serde(default)]
    pub purpose: Option<String>,
    /// Which fields.
    pub fields: FieldScope,
    /// Allow at most this long, in seconds (as long as asked if `None`, `null`
    /// in JSON).
    #[serde(default)]
    pub max_duration_secs: Option<u64>,
    /// When it was made (assigned when the policy is added).
    #[serde(default)]
    pub created_at: Timestamp,
}

impl Policy {
    /// Allows every normal field, for any purpose and as long as asked, to
    /// `merchant` (or to any merchant if `None`). Sensitive fields are still asked.
    /// Its id and creation time are set when it is added.
    pub fn allow_normal_fields(merchant: Option<PassportId>) -> Self {
        Self {
            id: 0,
            effect: Effect::Allow,
            merchant,
            purpose: None,
            fields: FieldScope::any_normal(),
            max_duration_secs: None,
            created_at: Timestamp::default(),
        }
    }

    fn applies_to(&self, merchant: &PassportId, purpose: &str) -> bool {
        self.merchant.is_none_or(|m| m == *merchant)
            && self
                .purpose
                .as_deref()
                .is_none_or(|p| p.eq_ignore_ascii_case(purpose.trim()))
    }
}

/// Why the person must be asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "field")]
pub enum AskReason {
    /// No policy covers this required field.
    NotCovered(FieldName),
    /// This required field is sensitive and no policy names it.
    Sensitive(FieldName),
    /// The person has no value for this required field.
    Missing(FieldName),
    /// No policy covers any field asked for.
    NothingCovered,
}

/// What the engine decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    /// Release these fields for this long without asking.
    Allow {
        /// Fields to release, in the order asked.
        fields: Vec<FieldName>,
        /// Grant duration, in seconds.
        duration_secs: u64,
        /// Fewer fields or a shorter time than asked.
        partial: bool,
        /// The policies that allowed it.
        policies: Vec<u64>,
    },
    /// Refuse without asking.
    Deny {
        /// The deny policy.
        policy: u64,
    },
    /// Put the request in the inbox.
    Ask {
        /// Why, one reason per required field that could not be released.
        reasons: Vec<AskReason>,
    },
}

/// Decides a verified request from `merchant` against `policies`. `field` tells the
/// class of a field the person has, or `None` if they have no value for it.
pub fn evaluate(
    request: &Request,
    merchant: &PassportId,
    policies: &[Policy],
    field: impl Fn(&FieldName) -> Option<Sensitivity>,
) -> Evaluation {
    let applicable: Vec<&Policy> = policies
        .iter()
        .filter(|p| p.applies_to(merchant, &request.purpose))
        .collect();
    // Deny wins: a deny policy touching any asked field refuses the whole request.
    if let Some(deny) = applicable.iter().find(|p| {
        p.effect == Effect::Deny && request.fields.iter().any(|f| p.fields.touches(&f.name))
    }) {
        return Evaluation::Deny { policy: deny.id };
    }
    let allows: Vec<&&Policy> = applicable
        .iter()
        .filter(|p| p.effect == Effect::Allow)
        .collect();
    let mut fields = Vec::new();
    let mut used = BTreeSet::new();
    let mut reasons = Vec::new();
    for asked in &request.fields {
        let Some(sensitivity) = field(&asked.name) else {
            if asked.required {
                reasons.push(AskReason::Missing(asked.name.clone()));
            }
            continue;
        };
        let covering: Vec<u64> = allows
            .iter()
            .filter(|p| p.fields.covers(&asked.name, sensitivity))
            .map(|p| p.id)
            .collect();
        if covering.is_empty() {
            if asked.required {
                reasons.push(match sensitivity {
                    Sensitivity::Sensitive => AskReason::Sensitive(asked.name.clone()),
                    Sensitivity::Normal => AskReason::NotCovered(asked.name.clone()),
                });
            }
            continue;
        }
        used.extend(covering);
        fields.push(asked.name.clone());
    }
    if !reasons.is_empty() {
        return Evaluation::Ask { reasons };
    }
    if fields.is_empty() {
        return Evaluation::Ask {
            reasons: vec![AskReason::NothingCovered],
        };
    }
    let duration_secs = allows
        .iter()
        .filter(|p| used.contains(&p.id))
        .filter_map(|p| p.max_duration_secs)
        .fold(request.duration_secs, u64::min);
    Evaluation::Allow {
        partial: fields.len() < request.fields.len() || duration_secs < request.duration_secs,
        fields,
        duration_secs,
        policies: used.into_iter().collect(),
    }
}

#[cfg(test)]
mod tests {
    use passport_protocol::{FieldRequest, IdentityKey, SealingKey};

    use super::*;

    fn name(s: &str) -> FieldName {
        s.parse().unwrap()
    }

    fn request(fields: &[(&str, bool)], purpose: &str, days: u64) -> Request {
        Request {
            requester_name: "Brand X".into(),
            fields: fields
                .iter()
                .map(|(n, required)| FieldRequest {
                    name: name(n),
                    required: *required,
                    reason: String::new(),
                    attested_by: Vec::new(),
                })
                .collect(),
            purpose: purpose.into(),
            duration_secs: days * 86_400,
            retention_secs: 0,
            offer: None,
            reply_to: vec![],
            seal_to: SealingKey::derive(&[1; 32]).public_key(),
            name_proof: None,
            domain: None,
        }
    }

    fn policy(
        id: u64,
        effect: Effect,
        merchant: Option<PassportId>,
        purpose: Option<&str>,
        fields: FieldScope,
        max_days: Option<u64>,
    ) -> Policy {
        Policy {
            id,
            effect,
            merchant,
            purpose: purpose.map(str::to_owned),
            fields,
            max_duration_secs: max_days.map(|d| d * 86_400),
            created_at: Timestamp::from_secs(0),
        }
    }

    fn has_all(f: &FieldName) -> Option<Sensitivity> {
        Some(Sensitivity::default_for(f))
    }

    #[test]
    fn without_policies_the_person_is_asked() {
        let brand_x = IdentityKey::from_secret_bytes(&[1; 32]).id();
        let req = request(&[("name.given", true)], "delivery", 30);
        assert_eq!(
            evaluate(&req, &brand_x, &[], has_all),
            Evaluation::Ask {
                reasons: vec![AskReason::NotCovered(name("name.given"))]
            }
        );
    }

    #[test]
    fn trusted_merchant_gets_normal_fields_but_sensitive_ones_are_asked() {
        let brand_x = IdentityKey::from_secret_bytes(&[1; 32]).id();
        let trust = [policy(
            1,
            Effect::Allow,
            Some(brand_x),
            None,
            FieldScope::any_normal(),
            None,
        )];
        let req = request(
            &[("name.given", true), ("address.home", true)],
            "delivery",
            30,
        );
        assert!(matches!(
            evaluate(&req, &brand_x, &trust, has_all),
            Evaluation::Allow { partial: false, .. }
        ));
        let req = request(
            &[("name.given", true), ("payment.card", true)],
            "checkout",
            1,
        );
        assert_eq!(
            evaluate(&req, &brand_x, &trust, has_all),
            Evaluation::Ask {
                reasons: vec![AskReason::Sensitive(name("payment.card"))]
            }
        );
        // Named explicitly, a sensitive field is released.
        let named = [policy(
            2,
            Effect::Allow,
            Some(brand_x),
            None,
            FieldScope::only([name("payment.card"), name("name.given")]),
            None,
        )];
        assert!(matches!(
            evaluate(&req, &brand_x, &named, has_all),
            Evaluation::Allow { .. }
        ));
        // Another merchant is not trusted.
        let brand_y = IdentityKey::from_secret_bytes(&[2; 32]).id();
        assert!(matches!(
            evaluate(&req, &brand_y, &named, has_all),
            Evaluation::Ask { .. }
        ));
    }

    #[test]
    fn partial_consent_drops_uncovered_optional_fields_and_shortens_duration() {
        let m = IdentityKey::from_secret_bytes(&[1; 32]).id();
        let p = [policy(
            1,
            Effect::Allow,
            None,
            Some("Delivery"),
            FieldScope::only([name("address.home")]),
            Some(7),
        )];
        let req = request(
            &[("address.home", true), ("phone.mobile", false)],
            "delivery",
            30,
        );
        assert_eq!(
            evaluate(&req, &m, &p, has_all),
            Evaluation::Allow {
                fields: vec![name("address.home")],
                duration_secs: 7 * 86_400,
                partial: true,
                policies: vec![1]
            }
        );
        // Purpose must match.
        let req = request(&[("address.home", true)], "marketing", 30);
        assert!(matches!(
            evaluate(&req, &m, &p, has_all),
            Evaluation::Ask { .. }
        ));
    }

    #[test]
    fn deny_wins_and_missing_fields_are_asked() {
        let m = IdentityKey::from_secret_bytes(&[1; 32]).id();
        let p = [
            policy(1, Effect::Allow, None, None, FieldScope::any_normal(), None),
            policy(
                2,
                Effect::Deny,
                Some(m),
                None,
                FieldScope::only([name("phone.mobile")]),
                None,
            ),
        ];
        let req = request(
            &[("name.given", true), ("phone.mobile", false)],
            "delivery",
            30,
        );
        assert_eq!(
            evaluate(&req, &m, &p, has_all),
            Evaluation::Deny { policy: 2 }
        );
        let req = request(&[("name.given", true)], "delivery", 30);
        let missing = |f: &FieldName| (f.as_str() != "name.given").then_some(Sensitivity::Normal);
        assert_eq!(
            evaluate(&req, &m, &p, missing),
            Evaluation::Ask {
                reasons: vec![AskReason::Missing(name("name.given"))]
            }
        );
    }
}
