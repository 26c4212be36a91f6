//! JSON Schema of the wire protocol, generated from the types in [`crate::protocol`]. Written to
//! `proto/schema/` by `huddle schema`; a test fails when the files drift from the types.

use crate::protocol::{ClientFrame, ServerMessage};

/// File name → pretty-printed schema, for every generated schema file.
pub fn generate() -> Vec<(&'static str, String)> {
    let client = schemars::schema_for!(ClientFrame);
    let server = schemars::schema_for!(ServerMessage);
    let pretty = |s: &schemars::Schema| {
        let mut text = serde_json::to_string_pretty(s).unwrap_or_default();
        text.push('\n');
        text
    };
    vec![
        ("client.schema.json", pretty(&client)),
        ("server.schema.json", pretty(&server)),
    ]
}
