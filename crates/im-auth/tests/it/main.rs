//! Integration tests of `im-auth` (one test binary; modules by area).

mod fixtures;
mod fuzz;
mod identity;
mod parsing;

/// Test helpers shared by the modules.
pub mod support {
    use std::future::Future;
    use std::pin::pin;
    use std::sync::Mutex;
    use std::task::{Context, Poll, Waker};

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use im_auth::{BoxFuture, Credential, OidcVerifier};
    use serde_json::Value;

    /// Absolute path of a file under `shared/fixtures/auth/`.
    pub fn fixture_path(relative: &str) -> String {
        format!(
            "{}/../../../shared/fixtures/auth/{relative}",
            env!("CARGO_MANIFEST_DIR")
        )
    }

    /// Content of a file under `shared/fixtures/auth/`.
    pub fn fixture(relative: &str) -> String {
        let path = fixture_path(relative);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
    }

    /// Builds a credential from pairs.
    pub fn cred(pairs: &[(&str, &str)]) -> Credential {
        pairs.iter().copied().collect()
    }

    /// An unsigned JWT with the given payload.
    pub fn jwt(payload: &Value) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode(b"signature")
        )
    }

    /// Runs a future that never waits on I/O (all fakes answer immediately).
    pub fn block_on<F: Future>(fut: F) -> F::Output {
        let mut fut = pin!(fut);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }

    /// A scripted identity provider that records the calls it receives.
    pub struct FakeIdp {
        /// Answer of the userinfo endpoint.
        pub userinfo: Result<Value, String>,
        /// Answer of the introspection endpoint.
        pub introspection: Result<Value, String>,
        /// `"userinfo <issuer>"` / `"introspect <issuer> <client_id>"` per call.
        pub calls: Mutex<Vec<String>>,
    }

    impl FakeIdp {
        /// A provider whose userinfo answers `userinfo` and whose introspection fails.
        pub fn with_userinfo(userinfo: Value) -> Self {
            FakeIdp {
                userinfo: Ok(userinfo),
                introspection: Err("Code: 500. Message: not configured.".into()),
                calls: Mutex::new(Vec::new()),
            }
        }

        /// The recorded calls.
        pub fn calls(&self) -> Vec<String> {
            self.calls.lock().map(|c| c.clone()).unwrap_or_default()
        }

        fn record(&self, call: String) {
            if let Ok(mut calls) = self.calls.lock() {
                calls.push(call);
            }
        }
    }

    impl OidcVerifier for FakeIdp {
        fn user_info<'a>(
            &'a self,
            _token: &'a str,
            issuer: &'a str,
        ) -> BoxFuture<'a, Result<Value, String>> {
            self.record(format!("userinfo {issuer}"));
            let answer = self.userinfo.clone();
            Box::pin(async move { answer })
        }

        fn introspect<'a>(
            &'a self,
            _token: &'a str,
            issuer: &'a str,
            client_id: &'a str,
            _client_secret: &'a str,
        ) -> BoxFuture<'a, Result<Value, String>> {
            self.record(format!("introspect {issuer} {client_id}"));
            let answer = self.introspection.clone();
            Box::pin(async move { answer })
        }
    }
}
