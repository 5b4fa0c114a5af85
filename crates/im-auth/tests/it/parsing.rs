//! Auth-file and header grammar, ids, cloud list and credential selection.

use im_auth::{
    AuthData, AuthError, AuthHeader, CloudInfo, Credential, CredentialSelection, VaultSettings,
    describe, mask_secrets, parse_auth_file, parse_auth_header, parse_auth_line, validate_id,
};
use serde_json::{Value, json};

use crate::support::{cred, fixture_path, jwt};

fn line(text: &str) -> Credential {
    parse_auth_line(text).unwrap_or_else(|| panic!("line skipped: {text:?}"))
}

fn header_items(value: &str) -> Vec<Credential> {
    parse_auth_header(value)
        .map(|h| h.credentials().to_vec())
        .unwrap_or_else(|e| panic!("header {value:?}: {e}"))
}

// --- line grammar ---

#[test]
fn quoted_values_keep_semicolons() {
    let c = line("id = q1; password = 'semi;colon'; tenant = \"a;b\"");
    assert_eq!(c.get("password"), Some("semi;colon"));
    assert_eq!(c.get("tenant"), Some("a;b"));
}

#[test]
fn quotes_of_the_other_kind_are_literal_inside_quotes() {
    let c = line(r#"a = "single'quote;inside"; b = 'double"quote'"#);
    assert_eq!(c.get("a"), Some("single'quote;inside"));
    assert_eq!(c.get("b"), Some("double\"quote"));
}

#[test]
fn quote_characters_are_removed_from_keys_and_values() {
    let c = line(r#"k = 'it''s'; "u""v" = x'y"#);
    assert_eq!(c.get("k"), Some("its"));
    assert_eq!(c.get("uv"), Some("xy"));
}

#[test]
fn unterminated_quote_extends_to_the_end_of_the_line() {
    let c = line("a = 'x; b = y");
    assert_eq!(c.get("a"), Some("x; b = y"));
    assert_eq!(c.len(), 1);
}

#[test]
fn unquoted_equals_sign_drops_the_rest_of_the_line() {
    let c = line("id = q5; username = u; password = a=b; tenant = lost");
    assert_eq!(c, cred(&[("id", "q5"), ("username", "u")]));
    let c = line("password = abc=; tenant = t");
    assert_eq!(c.get("password"), Some("abc"));
    assert_eq!(c.get("tenant"), Some("t"));
}

#[test]
fn empty_unquoted_value_stops_the_line_but_quoted_empty_value_is_kept() {
    assert_eq!(line("a = 1; username = ; b = 2"), cred(&[("a", "1")]));
    assert_eq!(
        line("username = ''; b = 2"),
        cred(&[("username", ""), ("b", "2")])
    );
}

#[test]
fn keys_and_values_are_stripped_and_case_sensitive() {
    let c = line("  TYPE=InfrastructureManager ;Username =  x\u{3000};type = a ");
    assert_eq!(
        c,
        cred(&[
            ("TYPE", "InfrastructureManager"),
            ("Username", "x"),
            ("type", "a")
        ])
    );
}

#[test]
fn repeated_key_keeps_first_position_with_last_value() {
    let c = line("a = 1; b = 2; a = 3");
    let pairs: Vec<(&str, &str)> = c.iter().collect();
    assert_eq!(pairs, [("a", "3"), ("b", "2")]);
}

#[test]
fn backslash_n_in_a_value_becomes_a_newline() {
    assert_eq!(line(r"k = line1\nline2").get("k"), Some("line1\nline2"));
}

#[test]
fn file_values_are_kept_literally_and_never_read() {
    // The path exists and is readable: the reference would inline its content.
    let path = fixture_path("user_db.json");
    let items = parse_auth_file(&format!("id = x; type = OpenStack; proxy = file({path})"))
        .unwrap_or_default();
    assert_eq!(
        items[0].get("proxy"),
        Some(format!("file({path})").as_str())
    );
    let items = header_items(&format!("type = Docker; private_key = file({path})"));
    assert_eq!(
        items[0].get("private_key"),
        Some(format!("file({path})").as_str())
    );
}

#[test]
fn command_values_are_kept_literally() {
    let c = line("type = EGI; token = command(oidc-token EGI)");
    assert_eq!(c.get("token"), Some("command(oidc-token EGI)"));
}

#[test]
fn comment_and_blank_lines_are_skipped_but_garbage_lines_yield_empty_credentials() {
    let items = parse_auth_file(
        "# comment\n\n   \n  # indented comment\njust garbage\nk = v # not a comment\n",
    )
    .unwrap_or_default();
    assert_eq!(
        items,
        vec![Credential::new(), cred(&[("k", "v # not a comment")])]
    );
}

#[test]
fn crlf_and_cr_line_endings_are_accepted() {
    let items = parse_auth_file("a = 1\r\nb = 2\rc = 3").unwrap_or_default();
    assert_eq!(
        items,
        vec![
            cred(&[("a", "1")]),
            cred(&[("b", "2")]),
            cred(&[("c", "3")])
        ]
    );
}

// --- JSON ---

#[test]
fn json_file_is_parsed_as_a_list_of_objects() {
    let items = parse_auth_file(r#" [ {"type": "InfrastructureManager", "username": "u"}, {} ] "#);
    assert_eq!(
        items,
        Ok(vec![
            cred(&[("type", "InfrastructureManager"), ("username", "u")]),
            Credential::new()
        ])
    );
    assert_eq!(parse_auth_file("[]"), Ok(vec![]));
}

#[test]
fn json_numbers_and_booleans_become_strings() {
    let items = parse_auth_file(r#"[{"type": "Dummy", "port": 2633, "ratio": 1.5, "flag": true}]"#);
    assert_eq!(
        items,
        Ok(vec![cred(&[
            ("type", "Dummy"),
            ("port", "2633"),
            ("ratio", "1.5"),
            ("flag", "true")
        ])])
    );
}

#[test]
fn json_that_is_not_a_list_of_flat_objects_is_a_malformed_error() {
    for text in [
        "123",
        "\"type = InfrastructureManager\"",
        "null",
        "true",
        r#"{"type": "InfrastructureManager", "username": "u"}"#,
        "[1]",
        "[[]]",
        r#"[{"a": null}]"#,
        r#"[{"a": ["x"]}]"#,
        r#"[{"a": {"b": "c"}}]"#,
    ] {
        let err = parse_auth_file(text).err();
        assert!(
            matches!(err, Some(AuthError::Malformed(_))),
            "{text}: {err:?}"
        );
        let err = parse_auth_header(text).err();
        assert!(
            matches!(err, Some(AuthError::Malformed(_))),
            "header {text}: {err:?}"
        );
        assert!(err.is_some_and(|e| !e.is_credentials_error()));
    }
    let msg = parse_auth_file("42").err().map(|e| e.to_string());
    assert_eq!(
        msg.as_deref(),
        Some(
            "Incorrect auth data: JSON authorization data must be a list of objects, not a number"
        )
    );
}

#[test]
fn header_json_list_is_only_tried_for_a_single_line() {
    let one = r#"[{"type": "InfrastructureManager", "username": "u"}]"#;
    assert_eq!(header_items(one).len(), 1);
    assert_eq!(header_items(one)[0].get("username"), Some("u"));
    // With a separator, every piece is an auth line: the JSON becomes garbage.
    let two = format!(r"{one}\ntype = Dummy");
    assert_eq!(
        header_items(&two),
        vec![Credential::new(), cred(&[("type", "Dummy")])]
    );
}

// --- header ---

#[test]
fn empty_header_is_missing_authentication_data() {
    let err = parse_auth_header("").err();
    assert_eq!(err, Some(AuthError::NoAuthData));
    assert_eq!(
        err.map(|e| (e.to_string(), e.is_credentials_error())),
        Some(("No authentication data provided".to_string(), true))
    );
}

#[test]
fn blank_header_has_no_credentials() {
    assert_eq!(header_items("   "), Vec::<Credential>::new());
}

#[test]
fn triple_backslash_n_is_a_newline_inside_a_value_and_double_is_a_separator() {
    let items = header_items(r"type = GCE; password = a\\nb\ntype = Dummy\n");
    assert_eq!(
        items,
        vec![
            cred(&[("type", "GCE"), ("password", "a\nb")]),
            cred(&[("type", "Dummy")])
        ]
    );
}

#[test]
fn bearer_header_without_vault_gives_no_im_credentials() {
    let token = jwt(&json!({"sub": "user"}));
    let header = parse_auth_header(&format!("Bearer  {token} ")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(header.bearer_token(), Some(token.as_str()));
    assert_eq!(header.credentials(), &[Credential::new()]);
    let auth = header.into_auth_data(None).unwrap_or_default();
    assert!(auth.im_credentials().is_empty());
}

#[test]
fn bearer_header_with_vault_yields_im_and_vault_items() {
    let vault = VaultSettings {
        url: "https://vault.example:8200".into(),
        path: Some("creds/me".into()),
        mount_point: Some("secrets/".into()),
        role: Some("im".into()),
    };
    let header = parse_auth_header("Bearer tok").unwrap_or_else(|e| panic!("{e}"));
    let items = header.resolve(Some(&vault));
    assert_eq!(
        items,
        Ok(vec![
            cred(&[("type", "InfrastructureManager"), ("token", "tok")]),
            cred(&[
                ("type", "Vault"),
                ("host", "https://vault.example:8200"),
                ("token", "tok"),
                ("path", "creds/me"),
                ("mount_point", "secrets/"),
                ("role", "im"),
            ]),
        ])
    );
}

#[test]
fn vault_path_user_sub_is_replaced_by_the_token_subject() {
    let vault = VaultSettings {
        url: "https://vault".into(),
        path: Some("users/#USER_SUB#/cloud".into()),
        ..VaultSettings::default()
    };
    let token = jwt(&json!({"sub": "abc-123"}));
    let items = parse_auth_header(&format!("Bearer {token}"))
        .and_then(|h| h.resolve(Some(&vault)))
        .unwrap_or_default();
    assert_eq!(items[1].get("path"), Some("users/abc-123/cloud"));
    assert!(!items[1].contains_key("mount_point"));
}

#[test]
fn vault_path_user_sub_with_undecodable_token_is_a_decode_error() {
    let vault = VaultSettings {
        url: "https://vault".into(),
        path: Some("#USER_SUB#".into()),
        ..VaultSettings::default()
    };
    let err = parse_auth_header("Bearer abc")
        .and_then(|h| h.resolve(Some(&vault)))
        .err();
    assert!(matches!(err, Some(AuthError::TokenDecode(_))), "{err:?}");
}

#[test]
fn bearer_with_empty_token_or_vault_without_url_uses_the_line_fallback() {
    let vault = VaultSettings::default();
    let items = parse_auth_header("Bearer tok").and_then(|h| h.resolve(Some(&vault)));
    assert_eq!(items, Ok(vec![Credential::new()]));
    let vault = VaultSettings {
        url: "https://vault".into(),
        ..VaultSettings::default()
    };
    let items = parse_auth_header("Bearer   ").and_then(|h| h.resolve(Some(&vault)));
    assert_eq!(items, Ok(vec![Credential::new()]));
}

#[test]
fn basic_header_is_never_honoured_and_never_fails() {
    for value in [
        "Basic dXNlcjpwYXNz",
        "Basic dXNlcg==",
        "Basic !!!",
        "Basic ",
        "Basic \u{e9}",
    ] {
        let header = parse_auth_header(value).unwrap_or_else(|e| panic!("{value}: {e}"));
        assert!(matches!(header, AuthHeader::Inline(_)), "{value}");
        let auth = header.into_auth_data(None).unwrap_or_default();
        assert!(auth.im_credentials().is_empty(), "{value}");
    }
}

// --- ids ---

#[test]
fn id_rule_accepts_letters_digits_dots_dashes_and_unicode_word_characters() {
    for id in [
        "one",
        "_x",
        ".dot-id_1.2",
        "a",
        "Z9",
        "x\u{e9}t\u{e9}",
        "a\u{663}",
        "x\u{b2}",
        "x\u{3b1}\u{3b2}",
    ] {
        assert_eq!(validate_id(id), Ok(()), "{id}");
    }
    assert_eq!(validate_id(""), Ok(()));
}

#[test]
fn id_rule_rejects_leading_digit_dash_and_other_characters() {
    for id in [
        "1one",
        "-x",
        "a b",
        "a/b",
        "a:b",
        "\u{e9}t\u{e9}",
        "x\n",
        "a\u{301}",
        "\u{24b6}",
        "x\u{24b6}",
        "a+b",
    ] {
        assert_eq!(
            validate_id(id),
            Err(AuthError::InvalidId(id.to_string())),
            "{id:?}"
        );
    }
    assert_eq!(
        validate_id("2cloud").err().map(|e| e.to_string()),
        Some("Incorrect value in auth item id: 2cloud".to_string())
    );
}

#[test]
fn invalid_id_error_is_malformed_data_not_credentials() {
    let err =
        parse_auth_header(r"type = InfrastructureManager; username = u\nid = 2cloud; type = Dummy")
            .and_then(|h| h.into_auth_data(None))
            .err();
    assert_eq!(err, Some(AuthError::InvalidId("2cloud".into())));
    assert!(err.is_some_and(|e| e.is_malformed()));
}

#[test]
fn empty_id_is_allowed_and_gets_a_generated_cloud_id() {
    let auth = AuthData::new(vec![
        cred(&[("type", "InfrastructureManager"), ("username", "u")]),
        cred(&[("id", ""), ("type", "Dummy")]),
        cred(&[("type", "Dummy")]),
    ])
    .unwrap_or_default();
    let ids: Vec<String> = auth.clouds().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["Dummy1", "Dummy2"]);
}

// --- clouds ---

#[test]
fn vault_and_unknown_types_are_clouds_but_im_vmrc_egiis_are_not() {
    let items = vec![
        cred(&[("type", "InfrastructureManager")]),
        cred(&[("type", "VMRC")]),
        cred(&[("type", "EGIIS")]),
        cred(&[("type", "Vault"), ("host", "https://v:8200")]),
        cred(&[("type", "OCCI")]),
        cred(&[("id", "no-type")]),
    ];
    let clouds = im_auth::cloud_list(&items);
    let ids: Vec<&str> = clouds.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["Vault3", "OCCI4"]);
    assert!(!clouds[0].is_known_type() && clouds[1].validate_type().is_ok());
}

#[test]
fn cloud_type_longer_than_15_chars_or_with_a_dot_is_not_valid() {
    let check = |t: &str| im_auth::validate_cloud_type(t);
    assert_eq!(check("OpenStack"), Ok(()));
    assert_eq!(check("ABCDEFGHIJKLMNO"), Ok(()));
    assert_eq!(check("ABCDEFGHIJKLMNOP"), Err(AuthError::InvalidCloudType));
    assert_eq!(check("os.path"), Err(AuthError::InvalidCloudType));
    assert_eq!(
        check(
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}"
        ),
        Ok(())
    );
    assert_eq!(
        AuthError::InvalidCloudType.to_string(),
        "Not valid cloud provider."
    );
}

#[test]
fn openstack_and_egi_clouds_carry_extra_fields() {
    let items = vec![
        cred(&[
            ("type", "OpenStack"),
            ("host", "https://o:5000"),
            ("tenant", "t"),
        ]),
        cred(&[
            ("type", "OpenStack"),
            ("auth_version", "3.x_oidc_access_token"),
            ("username", "egi.eu"),
            ("domain", ""),
            ("tenant", "t"),
        ]),
        cred(&[
            ("type", "OpenStack"),
            ("auth_version", "3.x_appcred"),
            ("tenant", "t"),
        ]),
        cred(&[("type", "OpenStack"), ("auth_version", ""), ("tenant", "t")]),
        cred(&[("type", "EGI"), ("vo", "vo.x")]),
    ];
    let extras: Vec<Value> = im_auth::cloud_list(&items)
        .iter()
        .map(|c| serde_json::to_value(&c.extra).unwrap_or_default())
        .collect();
    assert_eq!(
        extras,
        [
            json!({"auth_version": "2.0_password", "tenant": "t"}),
            json!({"auth_version": "3.x_oidc_access_token", "username": "egi.eu"}),
            json!({"auth_version": "3.x_appcred"}),
            json!({"auth_version": ""}),
            json!({"vo": "vo.x"}),
        ]
    );
}

#[test]
fn cloud_info_serializes_with_the_reference_keys_in_reference_order() {
    let cloud = CloudInfo::from_credential(
        0,
        &cred(&[("id", "one"), ("type", "OpenNebula"), ("host", "s:2633")]),
    );
    let text = cloud.map(|c| serde_json::to_string(&c).unwrap_or_default());
    assert_eq!(
        text.as_deref(),
        Some(
            r#"{"id":"one","type":"OpenNebula","server":"s","port":2633,"protocol":"","path":"","extra":{}}"#
        )
    );
    let back: Result<CloudInfo, _> = serde_json::from_str(r#"{"id":"x","type":"Dummy"}"#);
    assert_eq!(back.map(|c| c.port).ok(), Some(-1));
}

// --- credential selection ---

fn selection_auth() -> AuthData {
    AuthData::new(vec![
        cred(&[
            ("id", "a"),
            ("type", "OpenNebula"),
            ("host", "one.example.com:2633"),
            ("username", "first"),
        ]),
        cred(&[
            ("id", "b"),
            ("type", "OpenNebula"),
            ("host", "two.example.com:2633"),
            ("username", "second"),
        ]),
        cred(&[("id", "c"), ("type", "EC2"), ("username", "ec2-first")]),
        cred(&[("id", "d"), ("type", "EC2"), ("username", "ec2-second")]),
        cred(&[("id", "e"), ("type", "UpCloud"), ("username", "up")]),
        cred(&[
            ("id", "f"),
            ("type", "KubeVirt"),
            ("host", "https://kv1:6443"),
            ("username", "kv1"),
        ]),
        cred(&[
            ("id", "g"),
            ("type", "KubeVirt"),
            ("host", "https://kv2:6443"),
            ("username", "kv2"),
        ]),
    ])
    .unwrap_or_default()
}

fn selected(auth: &AuthData, cloud_id: &str) -> Option<String> {
    let cloud = auth.clouds().into_iter().find(|c| c.id == cloud_id)?;
    auth.credential_for_cloud(&cloud)
        .and_then(|c| c.get("username"))
        .map(str::to_string)
}

#[test]
fn host_based_connectors_select_credentials_by_host_substring() {
    let auth = selection_auth();
    assert_eq!(selected(&auth, "b").as_deref(), Some("second"));
    assert_eq!(
        CredentialSelection::for_type("OpenStack"),
        CredentialSelection::HostSubstring
    );
    let other = CloudInfo {
        type_: "OpenNebula".into(),
        server: "three.example.com".into(),
        ..CloudInfo::default()
    };
    assert!(auth.credential_for_cloud(&other).is_none());
    let any_host = CloudInfo {
        type_: "OpenNebula".into(),
        ..CloudInfo::default()
    };
    assert_eq!(auth.credentials_for_cloud(&any_host).len(), 2);
}

#[test]
fn type_only_connectors_take_the_first_item_of_their_type() {
    let auth = selection_auth();
    assert_eq!(selected(&auth, "d").as_deref(), Some("ec2-first"));
    // KubeVirt filters on urlparse(server).netloc, which is empty: first of type.
    assert_eq!(selected(&auth, "g").as_deref(), Some("kv1"));
}

#[test]
fn upcloud_falls_back_to_any_item_without_matching_host() {
    let auth = selection_auth();
    let cloud = CloudInfo {
        type_: "UpCloud".into(),
        server: "api.upcloud.com".into(),
        ..CloudInfo::default()
    };
    assert_eq!(
        auth.credential_for_cloud(&cloud)
            .and_then(|c| c.get("username")),
        Some("up")
    );
}

#[test]
fn auth_lookup_by_type_host_and_id() {
    let mut auth = selection_auth();
    assert_eq!(auth.get_auth_by_type("EC2").len(), 2);
    assert_eq!(auth.get_auth_by_type("ec2").len(), 0);
    assert_eq!(auth.get_auth_by_type_and_host("OpenNebula", "two").len(), 1);
    assert_eq!(auth.get_auth_by_id("c").len(), 1);
    let removed = auth.remove_auth("OpenNebula", "two");
    assert_eq!(
        removed.and_then(|c| c.id().map(str::to_string)).as_deref(),
        Some("b")
    );
    assert_eq!(auth.items().len(), 6);
    assert_eq!(
        auth.push(cred(&[("id", "9x")])),
        Err(AuthError::InvalidId("9x".into()))
    );
}

// --- secrets ---

#[test]
fn secrets_are_masked_but_public_values_and_empty_values_are_kept() {
    let c = cred(&[
        ("id", "x"),
        ("type", "Docker"),
        ("username", "u"),
        ("password", "p"),
        ("token", "t"),
        ("secret", "s"),
        ("private_key", "k"),
        ("public_key", "cert"),
        ("proxy", "file(/tmp/p)"),
        ("auth_token", "a"),
        ("client_secret", "cs"),
        ("Password", "P"),
        ("bearer_token_command", "oidc-token x"),
        ("tenant", ""),
        ("secret_empty", ""),
    ]);
    let masked = mask_secrets(&c);
    let shown: Vec<(&str, &str)> = masked.iter().collect();
    assert_eq!(
        shown,
        [
            ("id", "x"),
            ("type", "Docker"),
            ("username", "u"),
            ("password", "***"),
            ("token", "***"),
            ("secret", "***"),
            ("private_key", "***"),
            ("public_key", "cert"),
            ("proxy", "***"),
            ("auth_token", "***"),
            ("client_secret", "***"),
            ("Password", "***"),
            ("bearer_token_command", "***"),
            ("tenant", ""),
            ("secret_empty", ""),
        ]
    );
}

#[test]
fn debug_output_of_a_credential_hides_secrets() {
    let c = cred(&[("username", "alice"), ("password", "hunter2")]);
    let text = format!("{c:?}");
    assert!(
        text.contains("alice") && !text.contains("hunter2"),
        "{text}"
    );
}

#[test]
fn describe_masks_secrets_on_request() {
    let items = vec![cred(&[
        ("type", "InfrastructureManager"),
        ("username", "u"),
        ("password", "p"),
    ])];
    assert_eq!(
        describe(&items, true),
        json!({"items": [{"type": "InfrastructureManager", "username": "u", "password": "***"}],
               "valid_ids": true, "clouds": []})
    );
}
