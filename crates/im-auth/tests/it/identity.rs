//! JWT decoding and expiry, IM credential validation (USER_DB, admins, OIDC) and
//! the ownership rule.

use im_auth::{
    AdminUser, AuthData, AuthError, AuthSettings, Credential, ImUser, OidcAdminGroup, UserDb,
    check_auth_data, check_claims_expiry, check_token_expiry, decode_jwt_payload,
    derive_oidc_identity, is_authorized,
};
use serde_json::{Value, json};

use crate::support::{FakeIdp, block_on, cred, fixture, jwt};

const NOW: i64 = 1_700_000_000;
const ISS: &str = "https://aai.egi.eu/auth/realms/egi";

fn auth(items: Vec<Credential>) -> AuthData {
    AuthData::new(items).unwrap_or_else(|e| panic!("{e}"))
}

fn im(pairs: &[(&str, &str)]) -> Credential {
    let mut c = cred(&[("type", "InfrastructureManager")]);
    for (k, v) in pairs {
        c.insert(*k, *v);
    }
    c
}

fn check(
    items: Vec<Credential>,
    settings: &AuthSettings,
    idp: &FakeIdp,
) -> Result<Vec<ImUser>, AuthError> {
    block_on(check_auth_data(&auth(items), settings, NOW, idp))
}

fn no_idp() -> FakeIdp {
    FakeIdp::with_userinfo(json!({}))
}

fn oidc_settings() -> AuthSettings {
    let mut settings = AuthSettings::default();
    settings.oidc.issuers = vec![ISS.to_string()];
    settings
}

fn token(extra: Value) -> String {
    let mut claims = json!({"iss": ISS, "sub": "sub-1", "exp": NOW + 3600});
    if let (Some(map), Value::Object(extra)) = (claims.as_object_mut(), extra) {
        map.extend(extra);
    }
    jwt(&claims)
}

fn user(username: &str, password: Option<&str>, token: Option<&str>, admin: bool) -> ImUser {
    ImUser {
        username: username.into(),
        password: password.map(str::to_string),
        token: token.map(str::to_string),
        admin,
    }
}

// --- JWT ---

#[test]
fn jwt_payload_is_decoded_without_signature_check() {
    let t = jwt(&json!({"sub": "user", "exp": 5}));
    assert_eq!(decode_jwt_payload(&t), Ok(json!({"sub": "user", "exp": 5})));
    // The h06 fixture token.
    assert_eq!(
        decode_jwt_payload("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2ln"),
        Ok(json!({"sub": "user"}))
    );
}

#[test]
fn jwt_padding_is_optional() {
    // "e30" is `{}` without its one padding character.
    assert_eq!(
        decode_jwt_payload("e30.eyJzdWIiOiJhYiJ9.c2ln"),
        Ok(json!({"sub": "ab"}))
    );
    assert_eq!(
        decode_jwt_payload("e30=.eyJzdWIiOiJhYiJ9.c2ln"),
        Ok(json!({"sub": "ab"}))
    );
    assert_eq!(
        decode_jwt_payload("e30==.eyJzdWIiOiJhYiJ9.c2ln"),
        Ok(json!({"sub": "ab"}))
    );
}

#[test]
fn jwt_without_payload_part_is_a_decode_error() {
    let err = decode_jwt_payload("abc").err();
    assert_eq!(
        err.as_ref().map(ToString::to_string).as_deref(),
        Some("Error trying to decode OIDC auth token: list index out of range")
    );
    assert!(err.is_some_and(|e| e.is_malformed()));
}

#[test]
fn jwt_with_illegal_characters_or_bad_length_is_a_decode_error() {
    for t in [
        "a!b.e30.c2ln",
        "e30.e30 .c2ln",
        "e30.eyJzdWIiOiJhYiJ9.a",
        "e30.e30=x.c2ln",
        "",
        ".",
    ] {
        assert!(
            matches!(decode_jwt_payload(t), Err(AuthError::TokenDecode(_))),
            "{t:?}"
        );
    }
}

#[test]
fn jwt_payload_that_is_not_json_is_a_decode_error() {
    // "not json" base64url-encoded.
    assert!(matches!(
        decode_jwt_payload("e30.bm90IGpzb24.c2ln"),
        Err(AuthError::TokenDecode(_))
    ));
}

#[test]
fn expired_token_is_rejected_with_the_reference_message() {
    let t = jwt(&json!({"exp": NOW - 1}));
    let err = check_token_expiry(&t, NOW).err();
    assert_eq!(
        err.as_ref().map(ToString::to_string).as_deref(),
        Some("Invalid InfrastructureManager credentials. OIDC auth Token expired.")
    );
    assert!(err.is_some_and(|e| e.is_credentials_error()));
}

#[test]
fn token_expiring_now_is_still_valid() {
    assert_eq!(check_token_expiry(&jwt(&json!({"exp": NOW})), NOW), Ok(0));
    assert_eq!(
        check_token_expiry(&jwt(&json!({"exp": NOW + 60})), NOW),
        Ok(60)
    );
}

#[test]
fn token_without_readable_exp_cannot_be_checked() {
    let message = "Invalid InfrastructureManager credentials. OIDC auth Error getting token info.";
    for claims in [
        json!({"sub": "x"}),
        json!({"exp": "soon"}),
        json!({"exp": null}),
        json!([1]),
    ] {
        let err = check_token_expiry(&jwt(&claims), NOW)
            .err()
            .map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some(message), "{claims}");
    }
    let err = check_token_expiry("garbage", NOW)
        .err()
        .map(|e| e.to_string());
    assert_eq!(err.as_deref(), Some(message));
    let err = check_token_expiry("", NOW).err().map(|e| e.to_string());
    assert_eq!(
        err.as_deref(),
        Some("Invalid InfrastructureManager credentials. OIDC auth No token specified.")
    );
}

#[test]
fn exp_as_float_or_numeric_string_is_accepted() {
    assert_eq!(
        check_claims_expiry(&json!({"exp": (NOW + 10) as f64 + 0.9}), NOW),
        Ok(10)
    );
    assert_eq!(
        check_claims_expiry(&json!({"exp": format!(" {} ", NOW + 5)}), NOW),
        Ok(5)
    );
}

// --- user/password items ---

#[test]
fn no_im_credentials_is_a_credentials_error() {
    let err = check(
        vec![cred(&[("type", "Dummy")]), Credential::new()],
        &AuthSettings::default(),
        &no_idp(),
    )
    .err();
    assert_eq!(err, Some(AuthError::NoImCredentials));
    assert_eq!(
        err.map(|e| (e.to_string(), e.is_credentials_error())),
        Some((
            "No credentials provided for the InfrastructureManager.".to_string(),
            true
        ))
    );
    // The type is compared case-sensitively.
    let err = check(
        vec![cred(&[
            ("type", "infrastructuremanager"),
            ("username", "u"),
        ])],
        &AuthSettings::default(),
        &no_idp(),
    )
    .err();
    assert_eq!(err, Some(AuthError::NoImCredentials));
}

#[test]
fn without_user_db_any_username_is_accepted_even_without_password() {
    let users = check(
        vec![
            im(&[("username", "u")]),
            im(&[("username", "v"), ("password", "")]),
        ],
        &AuthSettings::default(),
        &no_idp(),
    );
    assert_eq!(
        users,
        Ok(vec![
            user("u", None, None, false),
            user("v", Some(""), None, false)
        ])
    );
}

#[test]
fn openid_prefixed_username_is_refused() {
    let err = check(
        vec![im(&[
            ("username", "__OPENID__alice"),
            ("password", "https://iss/sub"),
        ])],
        &AuthSettings::default(),
        &no_idp(),
    )
    .err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("Invalid username used for the InfrastructureManager.")
    );
}

#[test]
fn item_without_username_or_token_is_rejected() {
    let err = check(
        vec![im(&[("password", "p")])],
        &AuthSettings::default(),
        &no_idp(),
    )
    .err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("No username nor token for the InfrastructureManager.")
    );
}

#[test]
fn every_im_item_is_validated_and_the_first_failure_wins() {
    let items = vec![
        im(&[("username", "ok")]),
        im(&[]),
        im(&[("username", "__OPENID__x")]),
    ];
    let err = check(items, &AuthSettings::default(), &no_idp()).err();
    assert_eq!(err, Some(AuthError::NoUsernameNorToken));
}

#[test]
fn user_db_accepts_only_listed_pairs() {
    let settings = AuthSettings {
        user_db: Some(UserDb::from_json_text(&fixture("user_db.json"))),
        ..AuthSettings::default()
    };
    let ok = check(
        vec![im(&[("username", "user0"), ("password", "pass0")])],
        &settings,
        &no_idp(),
    );
    assert_eq!(ok, Ok(vec![user("user0", Some("pass0"), None, false)]));
    for (u, p) in [("user0", "pass2"), ("user1", "pass1"), ("USER0", "pass0")] {
        let err = check(
            vec![im(&[("username", u), ("password", p)])],
            &settings,
            &no_idp(),
        )
        .err();
        assert_eq!(
            err.as_ref().map(ToString::to_string).as_deref(),
            Some("Invalid InfrastructureManager credentials"),
            "{u}/{p}"
        );
        assert!(err.is_some_and(|e| e.is_credentials_error()));
    }
}

#[test]
fn user_db_rejects_missing_password_and_unusable_databases() {
    let db = UserDb::from_json_text(&fixture("user_db.json"));
    assert!(db.contains("user2", Some("pass2")));
    assert!(!db.contains("user2", None));
    assert!(!UserDb::unavailable().contains("user2", Some("pass2")));
    assert!(!UserDb::from_json_text("not json").contains("user2", Some("pass2")));
    assert!(
        !UserDb::from_json_text(r#"{"users": {"user2": "pass2"}}"#)
            .contains("user2", Some("pass2"))
    );
    // Entries are scanned in order: a broken entry before the match rejects...
    let broken_first = r#"{"users": [{"name": "x"}, {"username": "a", "password": "b"}]}"#;
    assert!(!UserDb::from_json_text(broken_first).contains("a", Some("b")));
    // ...but one after it is never reached, and a password-less entry of another
    // user is skipped.
    let broken_last = r#"{"users": [{"username": "z"}, {"username": "a", "password": "b"}, 7]}"#;
    assert!(UserDb::from_json_text(broken_last).contains("a", Some("b")));
    let settings = AuthSettings {
        user_db: Some(UserDb::unavailable()),
        ..AuthSettings::default()
    };
    let err = check(
        vec![im(&[("username", "u"), ("password", "p")])],
        &settings,
        &no_idp(),
    )
    .err();
    assert_eq!(err, Some(AuthError::InvalidUser));
}

#[test]
fn admin_user_flag_is_set_only_on_exact_match() {
    let settings = AuthSettings {
        admin_users: vec![AdminUser {
            username: Some("root".into()),
            password: Some("secret".into()),
        }],
        ..AuthSettings::default()
    };
    let users = check(
        vec![
            im(&[("username", "root"), ("password", "secret")]),
            im(&[("username", "root"), ("password", "other")]),
        ],
        &settings,
        &no_idp(),
    );
    assert_eq!(
        users.map(|u| u.iter().map(|u| u.admin).collect::<Vec<_>>()),
        Ok(vec![true, false])
    );
}

#[test]
fn admin_user_without_password_matches_items_without_password() {
    let settings = AuthSettings {
        admin_users: vec![AdminUser {
            username: Some("root".into()),
            password: None,
        }],
        ..AuthSettings::default()
    };
    let users = check(vec![im(&[("username", "root")])], &settings, &no_idp());
    assert_eq!(users, Ok(vec![user("root", None, None, true)]));
}

#[test]
fn force_oidc_auth_requires_a_token() {
    let settings = AuthSettings {
        force_oidc_auth: true,
        ..oidc_settings()
    };
    let err = check(
        vec![im(&[("username", "u"), ("password", "p")])],
        &settings,
        &no_idp(),
    )
    .err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("No token provided for the InfrastructureManager.")
    );
    let idp = FakeIdp::with_userinfo(json!({"preferred_username": "alice"}));
    let ok = check(vec![im(&[("token", &token(json!({})))])], &settings, &idp);
    assert!(ok.is_ok(), "{ok:?}");
}

// --- OIDC ---

#[test]
fn oidc_token_yields_openid_identity_from_userinfo() {
    let t = token(json!({}));
    let idp = FakeIdp::with_userinfo(
        json!({"preferred_username": "alice", "name": "Alice A", "sub": "s"}),
    );
    let users = check(
        vec![im(&[("token", &t), ("username", "ignored")])],
        &oidc_settings(),
        &idp,
    );
    assert_eq!(
        users,
        Ok(vec![user(
            "__OPENID__alice",
            Some(&format!("{ISS}/sub-1")),
            Some(&t),
            false
        )])
    );
    assert_eq!(idp.calls(), [format!("userinfo {ISS}")]);
}

#[test]
fn oidc_identity_prefers_preferred_username_then_name_then_sub() {
    let claims = json!({"iss": ISS, "sub": "s1", "username": "tok-user"});
    let id = |info: Option<Value>| derive_oidc_identity(ISS, &claims, info.as_ref()).username;
    assert_eq!(id(Some(json!({"name": "N", "sub": "x"}))), "__OPENID__N");
    assert_eq!(id(Some(json!({"sub": "x"}))), "__OPENID__x");
    assert_eq!(id(Some(json!({"other": 1}))), "__OPENID__None");
    assert_eq!(id(Some(json!({}))), "__OPENID__tok-user");
    assert_eq!(id(None), "__OPENID__tok-user");
    let no_user = json!({"sub": "s1"});
    assert_eq!(
        derive_oidc_identity(ISS, &no_user, None).username,
        "__OPENID__s1"
    );
    let identity = derive_oidc_identity("https://iss.example/", &no_user, None);
    assert_eq!(identity.password, "https://iss.example/s1");
    assert_eq!(identity.issuer, "https://iss.example/");
}

#[test]
fn oidc_identity_falls_back_to_token_claims_when_userinfo_is_empty() {
    let t = token(json!({"username": "bob"}));
    let users = check(vec![im(&[("token", &t)])], &oidc_settings(), &no_idp());
    assert_eq!(
        users.map(|u| u[0].username.clone()).as_deref(),
        Ok("__OPENID__bob")
    );
}

#[test]
fn oidc_issuer_not_in_list_is_rejected() {
    let t = jwt(&json!({"iss": "https://evil.example", "sub": "x", "exp": NOW + 10}));
    let idp = no_idp();
    let err = check(vec![im(&[("token", &t)])], &oidc_settings(), &idp).err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("Invalid InfrastructureManager credentials. Issuer not accepted.")
    );
    assert!(idp.calls().is_empty());
}

#[test]
fn oidc_expired_token_is_rejected_before_any_network_call() {
    let t = token(json!({"exp": NOW - 100}));
    let idp = no_idp();
    let err = check(vec![im(&[("token", &t)])], &oidc_settings(), &idp).err();
    assert_eq!(
        err,
        Some(AuthError::OidcRejected("OIDC auth Token expired.".into()))
    );
    assert!(idp.calls().is_empty());
}

#[test]
fn oidc_undecodable_token_is_a_malformed_error_not_a_credentials_error() {
    let err = check(vec![im(&[("token", "abc")])], &oidc_settings(), &no_idp()).err();
    assert_eq!(
        err,
        Some(AuthError::TokenDecode("list index out of range".into()))
    );
    assert!(err.is_some_and(|e| !e.is_credentials_error()));
}

#[test]
fn oidc_userinfo_failure_message_is_reported() {
    let idp = FakeIdp {
        userinfo: Err("Code: 401. Message: invalid token".into()),
        ..no_idp()
    };
    let err = check(
        vec![im(&[("token", &token(json!({})))])],
        &oidc_settings(),
        &idp,
    )
    .err();
    assert_eq!(
        err.map(|e| e.to_string()).as_deref(),
        Some("Invalid InfrastructureManager credentials. Code: 401. Message: invalid token.")
    );
}

#[test]
fn oidc_introspection_must_be_active() {
    let mut settings = oidc_settings();
    settings.oidc.client_id = Some("im".into());
    settings.oidc.client_secret = Some("s3cr3t".into());
    let t = token(json!({}));
    for answer in [
        Ok(json!({"active": false})),
        Ok(json!({})),
        Err("Code: 500. Message: x.".to_string()),
    ] {
        let idp = FakeIdp {
            introspection: answer,
            ..no_idp()
        };
        let err = check(vec![im(&[("token", &t)])], &settings, &idp).err();
        assert_eq!(
            err.map(|e| e.to_string()).as_deref(),
            Some("Invalid InfrastructureManager credentials. Invalid token or Client credentials.")
        );
        assert_eq!(idp.calls(), [format!("introspect {ISS} im")]);
    }
    // Active: the identity comes from the introspection answer and userinfo.
    let idp = FakeIdp {
        introspection: Ok(json!({"active": true, "sub": "intro-sub", "iss": ISS})),
        userinfo: Ok(json!({"preferred_username": "carol"})),
        calls: Default::default(),
    };
    let users = check(vec![im(&[("token", &t)])], &settings, &idp);
    assert_eq!(
        users,
        Ok(vec![user(
            "__OPENID__carol",
            Some(&format!("{ISS}/intro-sub")),
            Some(&t),
            false
        )])
    );
    assert_eq!(
        idp.calls(),
        [format!("introspect {ISS} im"), format!("userinfo {ISS}")]
    );
}

#[test]
fn oidc_audience_scopes_and_groups_are_enforced() {
    let reason = |settings: &AuthSettings, extra: Value, info: Value| {
        let idp = FakeIdp::with_userinfo(info);
        check(vec![im(&[("token", &token(extra))])], settings, &idp)
            .err()
            .map(|e| e.to_string())
    };
    let prefix = "Invalid InfrastructureManager credentials. ";

    let mut s = oidc_settings();
    s.oidc.audience = Some("im".into());
    assert_eq!(reason(&s, json!({"aud": "x,im"}), json!({})), None);
    assert_eq!(reason(&s, json!({"aud": ["x", "im"]}), json!({})), None);
    assert_eq!(
        reason(&s, json!({"aud": "x, im"}), json!({})),
        Some(format!("{prefix}Audience not accepted."))
    );
    assert_eq!(
        reason(&s, json!({}), json!({})),
        Some(format!("{prefix}Audience not accepted."))
    );

    let mut s = oidc_settings();
    s.oidc.scopes = vec!["openid".into(), "profile".into()];
    assert_eq!(
        reason(&s, json!({"scope": "openid email profile"}), json!({})),
        None
    );
    assert_eq!(
        reason(&s, json!({"scope": "openid email"}), json!({})),
        Some(format!(
            "{prefix}Scopes openid profile not in introspection scopes: openid email"
        ))
    );
    assert_eq!(
        reason(&s, json!({"scope": ""}), json!({})),
        Some(format!("{prefix}No scope obtained from introspection."))
    );

    let mut s = oidc_settings();
    s.oidc.groups = vec!["vo.a".into()];
    assert_eq!(
        reason(&s, json!({"groups": ["vo.a", "vo.b"]}), json!({})),
        None
    );
    // From userinfo when the token has no groups claim.
    assert_eq!(reason(&s, json!({}), json!({"groups": ["vo.a"]})), None);
    // The token's claim wins over userinfo's.
    assert_eq!(
        reason(&s, json!({"groups": []}), json!({"groups": ["vo.a"]})),
        Some(format!("{prefix}User not in configured groups."))
    );
    s.oidc.groups_claim = "eduperson_entitlement".into();
    assert_eq!(
        reason(&s, json!({"eduperson_entitlement": ["vo.a"]}), json!({})),
        None
    );
    assert_eq!(
        reason(&s, json!({"groups": ["vo.a"]}), json!({})),
        Some(format!("{prefix}User not in configured groups."))
    );
}

#[test]
fn oidc_admin_groups_make_admins_for_matching_issuer() {
    let mut s = oidc_settings();
    s.oidc.admin_groups = vec![OidcAdminGroup {
        issuer: format!("{ISS}/"),
        group: "admins".into(),
    }];
    let admin = |extra: Value| {
        let idp = FakeIdp::with_userinfo(json!({"preferred_username": "a"}));
        check(vec![im(&[("token", &token(extra))])], &s, &idp).map(|u| u[0].admin)
    };
    assert_eq!(admin(json!({"groups": ["users", "admins"]})), Ok(true));
    assert_eq!(admin(json!({"groups": ["users"]})), Ok(false));
    s.oidc.admin_groups[0].issuer = ISS.to_string(); // compared with the trailing '/'
    let idp = FakeIdp::with_userinfo(json!({}));
    let users = check(
        vec![im(&[("token", &token(json!({"groups": ["admins"]})))])],
        &s,
        &idp,
    );
    assert_eq!(users.map(|u| u[0].admin), Ok(false));
}

#[test]
fn oidc_admin_user_matches_the_derived_identity() {
    let mut s = oidc_settings();
    s.admin_users = vec![AdminUser {
        username: Some("__OPENID__alice".into()),
        password: Some(format!("{ISS}/sub-1")),
    }];
    let idp = FakeIdp::with_userinfo(json!({"preferred_username": "alice"}));
    let users = check(vec![im(&[("token", &token(json!({})))])], &s, &idp);
    assert_eq!(users.map(|u| u[0].admin), Ok(true));
}

// --- ownership ---

#[test]
fn ownership_same_username_and_password_is_authorized() {
    let owner = [user("u", Some("p"), None, false)];
    assert!(is_authorized(&owner, &[user("u", Some("p"), None, false)]));
}

#[test]
fn ownership_different_username_or_password_is_not_authorized() {
    let owner = [user("u", Some("p"), None, false)];
    assert!(!is_authorized(&owner, &[user("u", Some("q"), None, false)]));
    assert!(!is_authorized(&owner, &[user("v", Some("p"), None, false)]));
    assert!(!is_authorized(&owner, &[user("u", None, None, false)]));
    assert!(!is_authorized(&owner, &[]));
}

#[test]
fn ownership_missing_passwords_compare_equal() {
    assert!(is_authorized(
        &[user("u", None, None, false)],
        &[user("u", None, None, false)]
    ));
}

#[test]
fn ownership_admin_request_is_always_authorized() {
    let owner = [user("u", Some("p"), Some("t"), false)];
    assert!(is_authorized(&owner, &[user("x", Some("y"), None, true)]));
}

#[test]
fn ownership_admin_is_not_authorized_on_an_infrastructure_without_owners() {
    assert!(!is_authorized(&[], &[user("x", Some("y"), None, true)]));
}

#[test]
fn ownership_token_owner_requires_a_token_bearing_request() {
    let owner = [user("__OPENID__a", Some("https://i/s"), Some("t1"), false)];
    assert!(!is_authorized(
        &owner,
        &[user("__OPENID__a", Some("https://i/s"), None, false)]
    ));
    // Any token will do if it maps to the same identity.
    assert!(is_authorized(
        &owner,
        &[user("__OPENID__a", Some("https://i/s"), Some("t2"), false)]
    ));
}

#[test]
fn ownership_password_owner_accepts_a_token_bearing_request_with_same_identity() {
    let owner = [user("u", Some("p"), None, false)];
    assert!(is_authorized(
        &owner,
        &[user("u", Some("p"), Some("t"), false)]
    ));
}

#[test]
fn ownership_any_owner_and_any_request_identity_suffices() {
    let owners = [
        user("a", Some("1"), None, false),
        user("b", Some("2"), None, false),
    ];
    let request = [
        user("c", Some("3"), None, false),
        user("b", Some("2"), None, false),
    ];
    assert!(is_authorized(&owners, &request));
}

#[test]
fn validated_identities_round_trip_through_json_and_hide_secrets_in_debug() {
    let u = user("__OPENID__a", Some("https://i/s"), Some("tok"), true);
    let text = serde_json::to_string(&u).unwrap_or_default();
    assert_eq!(
        text,
        r#"{"username":"__OPENID__a","password":"https://i/s","token":"tok","admin":true}"#
    );
    assert_eq!(serde_json::from_str::<ImUser>(&text).ok(), Some(u.clone()));
    let debug = format!("{u:?}");
    assert!(
        !debug.contains("tok\"") && !debug.contains("https://i/s"),
        "{debug}"
    );
    assert_eq!(
        u.to_credential(),
        cred(&[
            ("type", "InfrastructureManager"),
            ("username", "__OPENID__a"),
            ("password", "https://i/s"),
            ("token", "tok"),
        ])
    );
}
