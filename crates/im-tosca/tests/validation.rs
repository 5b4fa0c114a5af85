//! Templates that do not validate are rejected with tosca-parser's words,
//! naming the node and the property, and with the line of the template.

use im_tosca::{IssueKind, MapFetcher, NoFetcher, ParseOptions, Tosca, ToscaError};

const HEAD: &str = "tosca_definitions_version: tosca_simple_yaml_1_0\ntopology_template:\n";

fn parse(body: &str) -> Result<Tosca, ToscaError> {
    Tosca::parse(&format!("{HEAD}{body}"), &ParseOptions::new(&NoFetcher))
}

/// The one issue of a rejected template: (kind, message, line).
fn issue(body: &str) -> (IssueKind, String, Option<u64>) {
    match parse(body) {
        Ok(_) => panic!("should be rejected:\n{body}"),
        Err(ToscaError::Invalid(issues)) => {
            assert_eq!(issues.len(), 1, "{issues:#?}");
            let i = &issues[0];
            (i.kind, i.message.clone(), i.line)
        }
        Err(other) => panic!("unexpected error {other}"),
    }
}

#[test]
fn a_node_level_field_that_does_not_exist_is_named_with_its_line() {
    let (kind, msg, line) = issue(
        "  node_templates:\n    vm:\n      type: tosca.nodes.Compute\n      scalable:\n        properties: {count: 2}\n",
    );
    assert_eq!(kind, IssueKind::UnknownField);
    assert_eq!(
        msg,
        "Node template \"vm\" contains unknown field \"scalable\"."
    );
    assert_eq!(line, Some(6));
}

#[test]
fn an_unknown_property_names_the_node_the_property_and_the_line() {
    let (kind, msg, line) = issue(
        "  node_templates:\n    sw:\n      type: tosca.nodes.SoftwareComponent\n      properties:\n        component_version: '1.0'\n        foo: bar\n",
    );
    assert_eq!(kind, IssueKind::UnknownField);
    assert_eq!(
        msg,
        "\"properties\" of template \"sw\" contains unknown field \"foo\"."
    );
    assert_eq!(line, Some(8));
}

#[test]
fn a_missing_required_property_is_reported() {
    let (kind, msg, line) =
        issue("  node_templates:\n    vol:\n      type: tosca.nodes.BlockStorage\n");
    assert_eq!(kind, IssueKind::MissingRequiredField);
    assert_eq!(
        msg,
        "\"properties\" of template \"vol\" is missing required field \"['size']\"."
    );
    assert_eq!(line, Some(4));
}

#[test]
fn literal_values_are_checked_against_their_types_and_constraints() {
    let vm = |props: &str| {
        format!(
            "  node_templates:\n    vm:\n      type: tosca.nodes.Compute\n      capabilities:\n        host:\n          properties:\n            {props}\n"
        )
    };
    let (_, msg, line) = issue(&vm("num_cpus: abc"));
    assert_eq!(msg, "\"abc\" is not an integer.");
    assert_eq!(line, Some(9));
    let (_, msg, _) = issue(&vm("mem_size: 4 XB"));
    assert!(msg.starts_with("The unit \"XB\" is not valid."), "{msg}");
    let (_, msg, _) = issue(&vm("num_cpus: 0"));
    assert_eq!(
        msg,
        "The value \"0\" of property \"num_cpus\" must be greater than or equal to \"1\"."
    );
    // Units are read case-insensitively, as tosca-parser does (with a warning).
    assert!(parse(&vm("mem_size: 4 gb")).is_ok());
    // Values that come from functions are not checked.
    assert!(
        parse(&format!(
            "  inputs:\n    n: {{type: integer, default: 0}}\n{}",
            vm("num_cpus: { get_input: n }")
        ))
        .is_ok()
    );
}

#[test]
fn input_defaults_are_type_checked_but_their_constraints_are_not() {
    let (kind, msg, line) = issue("  inputs:\n    n:\n      type: integer\n      default: abc\n");
    assert_eq!(kind, IssueKind::Value);
    assert_eq!(msg, "\"abc\" is not an integer.");
    assert_eq!(line, Some(6));
    let (_, msg, _) = issue("  inputs:\n    f:\n      type: float\n      default: 1\n");
    assert_eq!(msg, "\"1\" is not a float.");
    assert!(parse("  inputs:\n    p:\n      type: string\n      default: abc\n      constraints:\n        - min_length: 8\n").is_ok());
}

#[test]
fn references_to_missing_inputs_nodes_and_attributes_are_rejected() {
    let (kind, msg, _) = issue(
        "  node_templates:\n    vm:\n      type: tosca.nodes.Compute\n      capabilities:\n        host:\n          properties:\n            num_cpus: { get_input: y }\n",
    );
    assert_eq!(kind, IssueKind::UnknownInput);
    assert_eq!(msg, "Unknown input \"y\".");
    let (kind, msg, line) = issue(
        "  node_templates:\n    sw:\n      type: tosca.nodes.SoftwareComponent\n      requirements:\n        - host: x\n",
    );
    assert_eq!(kind, IssueKind::Key);
    assert_eq!(msg, "Node template \"x\" was not found in \"sw\".");
    assert_eq!(line, Some(7));
    let (_, msg, _) = issue(
        "  node_templates:\n    vm:\n      type: tosca.nodes.Compute\n  outputs:\n    o:\n      value: { get_attribute: [ vm, nope ] }\n",
    );
    assert_eq!(
        msg,
        "Attribute \"nope\" was not found in node template \"vm\"."
    );
    // The documentation's basic example: a normative Compute's endpoint has no
    // credential (the reference crashes on it).
    let (_, msg, _) = issue(
        "  node_templates:\n    vm:\n      type: tosca.nodes.Compute\n  outputs:\n    o:\n      value: { get_attribute: [ vm, endpoint, credential, 0 ] }\n",
    );
    assert!(
        msg.starts_with("Attribute \"credential\" was not found in capability \"endpoint\""),
        "{msg}"
    );
}

#[test]
fn unknown_types_are_named() {
    let (kind, msg, line) =
        issue("  node_templates:\n    a:\n      type: tosca.nodes.WebServer.Apache\n");
    assert_eq!(kind, IssueKind::InvalidType);
    assert_eq!(
        msg,
        "Type \"tosca.nodes.WebServer.Apache\" is not a valid type."
    );
    assert_eq!(line, Some(5));
}

#[test]
fn the_error_text_starts_as_the_reference_s() {
    let err =
        parse("  node_templates:\n    vol:\n      type: tosca.nodes.BlockStorage\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error parsing TOSCA template: \nThe pre-parsed input failed validation with the following error(s): \n\n\tMissingRequiredFieldError: \"properties\" of template \"vol\" is missing required field \"['size']\". (line 4)"
    );
}

#[test]
fn yaml_syntax_errors_carry_their_position() {
    let err = Tosca::parse("a: [1, 2\nb: 3\n", &ParseOptions::new(&NoFetcher)).unwrap_err();
    assert!(
        matches!(err, ToscaError::Syntax { line: Some(_), .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("Error parsing TOSCA template: ")
    );
    let err = Tosca::parse("- a\n- b\n", &ParseOptions::new(&NoFetcher)).unwrap_err();
    assert!(err.to_string().contains("must be a YAML map"), "{err}");
    let err = Tosca::parse("topology_template: {}\n", &ParseOptions::new(&NoFetcher)).unwrap_err();
    assert!(
        err.to_string().contains("tosca_definitions_version"),
        "{err}"
    );
}

#[test]
fn an_import_that_cannot_be_had_is_a_clear_error() {
    let doc = format!("{HEAD}  node_templates: {{}}\n").replace(
        "topology_template:",
        "imports:\n  - x: https://example.org/types.yaml\ntopology_template:",
    );
    let err = Tosca::parse(&doc, &ParseOptions::new(&MapFetcher::new())).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Error parsing TOSCA template: URLException: Failed to reach server \"https://example.org/types.yaml\". Reason is: Not Found."
    );
    let mut f = MapFetcher::new();
    f.insert(
        "https://example.org/types.yaml",
        "tosca_definitions_version: tosca_simple_yaml_1_0\nnode_types:\n  my.Node:\n    derived_from: tosca.nodes.Compute\n",
    );
    let doc = doc.replace(
        "node_templates: {}",
        "node_templates:\n    n:\n      type: my.Node",
    );
    assert!(Tosca::parse(&doc, &ParseOptions::new(&f)).is_ok());
}

#[test]
fn a_get_property_of_a_property_that_is_not_there_is_rejected_with_its_line() {
    let (kind, msg, line) = issue(
        "  node_templates:\n    db:\n      type: tosca.nodes.Database\n      properties:\n        name: x\n        user: { get_property: [ SELF, nmae ] }\n",
    );
    assert_eq!(kind, IssueKind::Key);
    assert_eq!(
        msg,
        "Property \"nmae\" was not found in node template \"db\"."
    );
    assert_eq!(line, Some(8));
    let (_, msg, _) = issue(
        "  node_templates:\n    vm:\n      type: tosca.nodes.Compute\n  outputs:\n    o:\n      value: { get_property: [ vm, host, nope ] }\n",
    );
    assert_eq!(
        msg,
        "Property \"nope\" was not found in capability \"host\" of node template \"vm\" referenced from node template \"\"."
    );
    // A property with a type default can be read.
    assert!(parse(
        "  node_templates:\n    ws:\n      type: tosca.nodes.WebServer\n  outputs:\n    o:\n      value: { get_property: [ ws, data_endpoint, protocol ] }\n"
    )
    .is_ok());
}
