//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): secrets are
//! `whsec_` and base64 of 24 to 64 random bytes, and the `webhook-signature` header
//! is `v1,` and base64 of HMAC-SHA256 over `{id}.{timestamp}.{body}`.

use base64::Engine as _;
use hmac::{KeyInit as _, Mac as _};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// What a webhook secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// Shortest and longest secret accepted, in bytes once decoded.
const SECRET_BYTES: std::ops::RangeInclusive<usize> = 24..=64;

/// A webhook's signing secret. `Debug` hides it; it is zeroized when dropped.
#[derive(Clone, PartialEq, Eq, Zeroize, ZeroizeOnDrop)]
pub struct WebhookSecret(Vec<u8>);

impl WebhookSecret {
    /// A fresh secret of 32 random bytes.
    pub fn generate() -> Self {
        use rand::Rng as _;
        let mut bytes = vec![0; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret as written in config files and shown once: `whsec_` and base64.
    pub fn to_text(&self) -> String {
        format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(&self.0)
        )
    }

    /// The `webhook-signature` value for one attempt.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> String {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        )
    }
}

impl std::str::FromStr for WebhookSecret {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or_else(|| {
            format!("a webhook secret starts with {SECRET_PREFIX:?}; leave it out to have one made")
        })?;
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| format!("a webhook secret is {SECRET_PREFIX} and base64: {e}"))?;
        if !SECRET_BYTES.contains(&bytes.len()) {
            return Err(format!(
                "a webhook secret holds {} to {} bytes; this one {}",
                SECRET_BYTES.start(),
                SECRET_BYTES.end(),
                bytes.len()
            ));
        }
        Ok(Self(bytes))
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl serde::Serialize for WebhookSecret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_text())
    }
}

impl<'de> serde::Deserialize<'de> for WebhookSecret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = zeroize::Zeroizing::new(String::deserialize(d)?);
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_match_the_specification_s_test_vector() {
        // From the Standard Webhooks reference libraries' tests.
        let secret: WebhookSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".parse().unwrap();
        assert_eq!(
            secret.sign(
                "msg_p5jXN8AQM9LWM0D4loKWxJek",
                1_614_265_330,
                br#"{"test": 2432232314}"#
            ),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_say_what_a_secret_looks_like() {
        let secret = WebhookSecret::generate();
        assert_eq!(secret.to_text().parse::<WebhookSecret>().unwrap(), secret);
        assert!(!format!("{secret:?}").contains(&secret.to_text()[6..]));
        for (bad, says) in [
            ("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "starts with"),
            ("whsec_not base64!", "base64"),
            ("whsec_AAAA", "24 to 64 bytes"),
        ] {
            let error = bad.parse::<WebhookSecret>().unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
    }
}
