//! OAuth: one installed application, its access tokens (1 hour) and the rotating refresh token.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

/// The OAuth application installed on the emulated portal, with its current token pair.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthApp {
    /// `client_id` of the application.
    pub client_id: String,
    /// `client_secret` of the application.
    pub client_secret: String,
    /// The current access token (valid for [`Config::access_token_ttl`](crate::Config)).
    pub access_token: String,
    /// The current refresh token (each refresh replaces it and invalidates the old one).
    pub refresh_token: String,
    /// Where REST calls go: `http://127.0.0.1:PORT/rest/`.
    pub client_endpoint: String,
    /// The OAuth server: `http://127.0.0.1:PORT/rest/`; its token endpoint is
    /// `http://127.0.0.1:PORT/oauth/token/`.
    pub server_endpoint: String,
    /// The portal's domain (`127.0.0.1:PORT`).
    pub domain: String,
    /// The portal's member id.
    pub member_id: String,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("client_endpoint", &self.client_endpoint)
            .field("server_endpoint", &self.server_endpoint)
            .field("domain", &self.domain)
            .field("member_id", &self.member_id)
            .finish()
    }
}

/// What an access token check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TokenCheck {
    Valid,
    Expired,
    Unknown,
}

/// Why a refresh was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RefreshError {
    UnsupportedGrant,
    InvalidClient,
    InvalidGrant,
}

#[derive(Debug)]
pub(crate) struct OAuthState {
    pub client_id: String,
    pub client_secret: String,
    pub member_id: String,
    access: HashMap<String, Instant>,
    pub access_token: String,
    pub refresh_token: String,
    ttl: Duration,
    rng: SmallRng,
}

impl OAuthState {
    pub(crate) fn new(seed: u64, ttl: Duration) -> OAuthState {
        let mut rng = SmallRng::seed_from_u64(seed ^ 0x0a17_4c1e_5eed_0001);
        let client_id = format!(
            "local.{:013x}.{:08}",
            rng.random::<u64>() >> 12,
            rng.random_range(10_000_000..99_999_999u32)
        );
        let client_secret = hex(&mut rng, 3);
        let member_id = hex(&mut rng, 2);
        let mut s = OAuthState {
            client_id,
            client_secret,
            member_id,
            access: HashMap::new(),
            access_token: String::new(),
            refresh_token: String::new(),
            ttl,
            rng,
        };
        s.issue();
        s
    }

    fn issue(&mut self) {
        let access = hex(&mut self.rng, 4);
        let refresh = hex(&mut self.rng, 4);
        self.access
            .insert(access.clone(), Instant::now() + self.ttl);
        self.access_token = access;
        self.refresh_token = refresh;
    }

    pub(crate) fn check(&self, token: &str) -> TokenCheck {
        match self.access.get(token) {
            Some(exp) if *exp > Instant::now() => TokenCheck::Valid,
            Some(_) => TokenCheck::Expired,
            None => TokenCheck::Unknown,
        }
    }

    /// Makes every access token issued so far expired.
    pub(crate) fn expire_all(&mut self) {
        let past = Instant::now();
        for exp in self.access.values_mut() {
            *exp = past;
        }
    }

    /// `grant_type=refresh_token`: a new pair; the old refresh token stops working.
    pub(crate) fn refresh(
        &mut self,
        grant_type: &str,
        client_id: &str,
        client_secret: &str,
        refresh_token: &str,
    ) -> Result<(), RefreshError> {
        if grant_type != "refresh_token" {
            return Err(RefreshError::UnsupportedGrant);
        }
        if client_id != self.client_id || client_secret != self.client_secret {
            return Err(RefreshError::InvalidClient);
        }
        if refresh_token.is_empty() || refresh_token != self.refresh_token {
            return Err(RefreshError::InvalidGrant);
        }
        self.issue();
        Ok(())
    }

    /// A new pair, as a successful refresh makes (replaying a state journal).
    pub(crate) fn rotate(&mut self) {
        self.issue();
    }

    /// Makes the current access token one issued `age` ago: it lives what is left of its
    /// lifetime (a state file's replay gives tokens their real age, so a token issued more
    /// than an hour before a restart is expired after it).
    pub(crate) fn age_current(&mut self, age: Duration) {
        let left = self.ttl.saturating_sub(age);
        if let Some(expires) = self.access.get_mut(&self.access_token) {
            *expires = Instant::now() + left;
        }
    }

    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }
}

fn hex(rng: &mut SmallRng, words: usize) -> String {
    (0..words)
        .map(|_| format!("{:016x}", rng.random::<u64>()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_rotates_and_rejects_the_old_token() {
        let mut s = OAuthState::new(1, Duration::from_secs(3600));
        let (id, secret) = (s.client_id.clone(), s.client_secret.clone());
        let old_access = s.access_token.clone();
        let old_refresh = s.refresh_token.clone();
        assert_eq!(s.check(&old_access), TokenCheck::Valid);
        s.expire_all();
        assert_eq!(s.check(&old_access), TokenCheck::Expired);
        assert_eq!(s.check("nope"), TokenCheck::Unknown);
        s.refresh("refresh_token", &id, &secret, &old_refresh)
            .unwrap();
        assert_ne!(s.refresh_token, old_refresh);
        assert_eq!(s.check(&s.access_token.clone()), TokenCheck::Valid);
        assert_eq!(
            s.refresh("refresh_token", &id, &secret, &old_refresh),
            Err(RefreshError::InvalidGrant)
        );
        assert_eq!(
            s.refresh("refresh_token", &id, "wrong", &s.refresh_token.clone()),
            Err(RefreshError::InvalidClient)
        );
        assert_eq!(
            s.refresh("password", &id, &secret, ""),
            Err(RefreshError::UnsupportedGrant)
        );
    }
}
