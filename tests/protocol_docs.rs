//! proto/ stays true to the Rust types: the JSON Schema files match what the types generate, every
//! canonical example decodes and re-encodes unchanged, every message type has an example, and
//! PROTOCOL.md documents every message, error code and close code.

use huddle::protocol::{ClientFrame, CloseCode, ServerMessage};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn proto() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proto")
}

#[test]
fn schema_files_match_the_rust_types() {
    for (name, generated) in huddle::schema::generate() {
        let path = proto().join("schema").join(name);
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            on_disk == generated,
            "proto/schema/{name} is out of date with src/protocol/. Regenerate it with \
             `cargo run -- schema` and commit the result."
        );
    }
}

#[test]
fn openapi_document_matches_the_rust_types() {
    let on_disk = std::fs::read_to_string(proto().join("openapi.json")).unwrap_or_default();
    assert!(
        on_disk == huddle::server::api::openapi_json(),
        "proto/openapi.json is out of date with src/server/api.rs. Regenerate it with \
         `cargo run -- schema` and commit the result."
    );
    let doc: Value = serde_json::from_str(&on_disk).expect("openapi.json is JSON");
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    // Every path the issue names for this API is documented.
    for path in [
        "/v1/meetings",
        "/v1/meetings/{meeting}",
        "/v1/meetings/{meeting}/end",
        "/v1/meetings/{meeting}/participants",
        "/v1/meetings/{meeting}/participants/{sub}/remove",
        "/v1/meetings/{meeting}/participants/{sub}/move",
        "/v1/meetings/{meeting}/participants/{sub}/admit",
        "/v1/meetings/{meeting}/participants/{sub}/deny",
        "/v1/meetings/{meeting}/breakouts",
        "/v1/meetings/{meeting}/broadcast",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} is not in openapi.json"
        );
    }
}

/// The `type` tags a schema allows, read from its `oneOf` branches.
fn tags(schema_file: &str) -> BTreeSet<String> {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(proto().join("schema").join(schema_file)).unwrap(),
    )
    .unwrap();
    let mut out = BTreeSet::new();
    for branch in schema["oneOf"].as_array().expect("oneOf") {
        let tag = &branch["properties"]["type"];
        let value = tag
            .get("const")
            .or_else(|| tag["enum"].get(0))
            .expect("type tag");
        out.insert(value.as_str().unwrap().to_owned());
    }
    out
}

fn examples(dir: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(proto().join("examples").join(dir)).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let value: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        out.push((
            path.file_name().unwrap().to_string_lossy().into_owned(),
            value,
        ));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn client_examples_round_trip_and_cover_every_message() {
    let mut seen = BTreeSet::new();
    for (name, value) in examples("client") {
        let frame: ClientFrame = serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("client/{name} does not decode: {e}"));
        assert_eq!(
            serde_json::to_value(&frame).unwrap(),
            value,
            "client/{name} round trip"
        );
        seen.insert(value["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen,
        tags("client.schema.json"),
        "an example for every client message"
    );
}

#[test]
fn server_examples_round_trip_and_cover_every_message() {
    let mut seen = BTreeSet::new();
    for (name, value) in examples("server") {
        let message: ServerMessage = serde_json::from_value(value.clone())
            .unwrap_or_else(|e| panic!("server/{name} does not decode: {e}"));
        assert_eq!(
            serde_json::to_value(&message).unwrap(),
            value,
            "server/{name} round trip"
        );
        seen.insert(value["type"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        seen,
        tags("server.schema.json"),
        "an example for every server message"
    );
}

#[test]
fn protocol_md_documents_every_message_and_code() {
    let doc = std::fs::read_to_string(proto().join("PROTOCOL.md")).unwrap();
    for tag in tags("client.schema.json")
        .iter()
        .chain(tags("server.schema.json").iter())
    {
        assert!(
            doc.contains(&format!("`{tag}`")),
            "PROTOCOL.md does not document `{tag}`"
        );
    }
    let server: Value = serde_json::from_str(
        &std::fs::read_to_string(proto().join("schema/server.schema.json")).unwrap(),
    )
    .unwrap();
    let codes = server["$defs"]["ErrorCode"]["oneOf"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| b["const"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        })
        .or_else(|| {
            server["$defs"]["ErrorCode"]["enum"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        })
        .expect("ErrorCode in schema");
    assert!(codes.len() >= 8);
    for code in codes {
        assert!(
            doc.contains(&format!("`{code}`")),
            "PROTOCOL.md does not document error `{code}`"
        );
    }
    for close in CloseCode::ALL {
        assert!(
            doc.contains(&format!("| {} |", close.code())) && doc.contains(close.reason()),
            "PROTOCOL.md does not document close code {} ({})",
            close.code(),
            close.reason()
        );
    }
}

#[test]
fn kind_names_match_the_wire_tags() {
    for (name, example) in examples("server") {
        let message: ServerMessage = serde_json::from_value(example.clone()).unwrap();
        assert_eq!(message.kind(), example["type"], "{name}");
        if let ServerMessage::Error { code, .. } = &message {
            assert_eq!(code.as_str(), example["code"], "{name}");
        }
    }
}

#[test]
fn every_error_code_names_itself_as_on_the_wire() {
    let server: Value = serde_json::from_str(
        &std::fs::read_to_string(proto().join("schema/server.schema.json")).unwrap(),
    )
    .unwrap();
    let defs = &server["$defs"]["ErrorCode"];
    let names: Vec<String> = defs["oneOf"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|b| b["const"].as_str().unwrap().to_owned())
                .collect()
        })
        .or_else(|| {
            defs["enum"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_str().unwrap().to_owned()).collect())
        })
        .expect("ErrorCode in schema");
    for name in names {
        let code: huddle::protocol::ErrorCode =
            serde_json::from_value(Value::String(name.clone())).unwrap();
        assert_eq!(code.as_str(), name);
    }
}
