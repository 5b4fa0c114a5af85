//! Property tests: the parsers never panic on arbitrary input, and what
//! `build_auth_header` writes parses back.

use im_auth::{
    Credential, VaultSettings, build_auth_header, cloud_list, decode_jwt_payload, describe,
    parse_auth_file, parse_auth_header,
};
use proptest::prelude::*;

/// Strings made of the characters that matter to the grammar, plus some Unicode.
fn grammar_text() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "Z",
        "0",
        "9",
        " ",
        "\t",
        ";",
        "=",
        "'",
        "\"",
        "\\",
        "\\n",
        "\\\\n",
        "n",
        "#",
        "\n",
        "\r",
        ":",
        "/",
        "//",
        "://",
        "[",
        "]",
        "%",
        ".",
        "-",
        "_",
        "@",
        "?",
        "é",
        "\u{663}",
        "²",
        "\u{3000}",
        "\u{1c}",
        "／",
        "℀",
        "[",
        "{",
        "}",
        ",",
        "Bearer ",
        "Basic ",
        "file(",
        ")",
        "type = ",
        "host = ",
        "id = ",
        "OpenStack",
        "InfrastructureManager",
        "unix:",
        "http:",
    ]);
    prop::collection::vec(pieces, 0..64).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_auth_header_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse_auth_header(&s).and_then(|h| h.into_auth_data(None)).map(|a| a.clouds());
    }

    #[test]
    fn parse_auth_file_never_panics_on_arbitrary_strings(s in any::<String>()) {
        let _ = parse_auth_file(&s).map(|items| describe(&items, true));
    }

    #[test]
    fn parsers_never_panic_on_grammar_shaped_input(s in grammar_text()) {
        let vault = VaultSettings {
            url: "https://vault".into(),
            path: Some("p/#USER_SUB#".into()),
            ..VaultSettings::default()
        };
        if let Ok(header) = parse_auth_header(&s) {
            let _ = header.clone().resolve(Some(&vault));
            let _ = describe(header.credentials(), false);
        }
        if let Ok(items) = parse_auth_file(&s) {
            let _ = describe(&items, false);
        }
    }

    #[test]
    fn cloud_list_never_panics_on_arbitrary_hosts(host in grammar_text(), other in any::<String>()) {
        let items: Vec<Credential> = [host.as_str(), other.as_str()]
            .iter()
            .map(|h| [("type", "OpenNebula"), ("host", *h)].into_iter().collect())
            .collect();
        for cloud in cloud_list(&items) {
            let _ = cloud.get_url();
        }
    }

    #[test]
    fn jwt_decoding_never_panics(s in any::<String>(), t in "[A-Za-z0-9_=.-]{0,40}") {
        let _ = decode_jwt_payload(&s);
        let _ = decode_jwt_payload(&t);
        let _ = im_auth::check_token_expiry(&t, 0);
    }

    #[test]
    fn headers_built_by_im_client_parse_back(
        items in prop::collection::vec(
            prop::collection::vec(("[a-z_]{1,8}", "[A-Za-z0-9_./:@ -]{0,12}[A-Za-z0-9_./:@-]"), 1..5),
            1..4,
        )
    ) {
        let creds: Vec<Credential> = items
            .into_iter()
            // Surrounding blanks are stripped by the parser: leave them out.
            .map(|pairs| pairs.into_iter().map(|(k, v)| (k, v.trim_start().to_string())).collect())
            .collect();
        let header = build_auth_header(&creds);
        let parsed = parse_auth_header(&header).map(|h| h.credentials().to_vec());
        prop_assert_eq!(parsed, Ok(creds));
    }
}
