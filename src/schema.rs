//! JSON Schema of the wire protocol, generated from the types in [`crate::protocol`], and the
//! protocol's constants (close codes and what a client does after each, the notices replayed
//! after a resume). Written to `proto/schema/` by `huddle schema`; a test fails when the files
//! drift from the types, and the SDK's constants are generated from `constants.json`.

use crate::protocol::{ClientFrame, CloseCode, ServerMessage, PROTOCOL_VERSION, REPLAYED_NOTICES};
use serde::Serialize;

/// The protocol's constants as the SDK needs them (field order is the file's order).
#[derive(Serialize)]
struct Constants {
    protocol_version: u32,
    close_codes: Vec<CloseCodeEntry>,
    replayed_notices: [&'static str; 5],
}

#[derive(Serialize)]
struct CloseCodeEntry {
    code: u16,
    reason: &'static str,
    /// `normal`, `terminal` or `reconnectable`: what a client does after this close.
    kind: &'static str,
}

/// File name → pretty-printed JSON, for every generated schema file.
pub fn generate() -> Vec<(&'static str, String)> {
    let client = schemars::schema_for!(ClientFrame);
    let server = schemars::schema_for!(ServerMessage);
    let constants = Constants {
        protocol_version: PROTOCOL_VERSION,
        close_codes: CloseCode::ALL
            .iter()
            .map(|c| CloseCodeEntry {
                code: c.code(),
                reason: c.reason(),
                kind: c.kind(),
            })
            .collect(),
        replayed_notices: REPLAYED_NOTICES,
    };
    fn pretty(value: &impl Serialize) -> String {
        let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
        text.push('\n');
        text
    }
    vec![
        ("client.schema.json", pretty(&client)),
        ("server.schema.json", pretty(&server)),
        ("constants.json", pretty(&constants)),
    ]
}
