//! Tests of the ARI client: against the API description (`spec`), against traffic captured
//! from a real Asterisk (`captured`), and against a small loopback server (`client`).

mod captured;
mod client;
mod spec;

use std::path::PathBuf;

use serde_json::Value;

/// `../shared/asterisk-ari` beside the crate; the tests cannot run without it.
fn ari_reference() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/asterisk-ari");
    assert!(
        dir.join("api-docs").is_dir() && dir.join("captured").is_dir(),
        "the ARI reference is missing: expected api-docs/ and captured/ under {} \
         (the shared folder sits beside the repository checkout)",
        dir.display()
    );
    dir
}

/// Checks that what we parsed says the same as what Asterisk sent: every non-null leaf of
/// `typed` (our model serialised back) equals the raw value at the same path, and keys the
/// raw JSON lacks were left empty. Returns the differences.
fn differences(typed: &Value, raw: &Value, path: &str, out: &mut Vec<String>) {
    match (typed, raw) {
        (Value::Object(t), Value::Object(r)) => {
            for (k, tv) in t {
                let here = format!("{path}.{k}");
                match r.get(k) {
                    Some(rv) => differences(tv, rv, &here, out),
                    None if is_empty(tv) => {}
                    None => out.push(format!("{here}: we have {tv}, Asterisk sent nothing")),
                }
            }
        }
        (Value::Array(t), Value::Array(r)) => {
            if t.len() != r.len() {
                out.push(format!(
                    "{path}: {} items, Asterisk sent {}",
                    t.len(),
                    r.len()
                ));
            }
            for (i, (tv, rv)) in t.iter().zip(r).enumerate() {
                differences(tv, rv, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Null, _) => {}
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (t, r) if t == r => {}
        (t, r) => out.push(format!("{path}: we have {t}, Asterisk sent {r}")),
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Bool(b) => !b,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.values().all(is_empty),
    }
}

#[test]
fn the_comparison_reports_changed_missing_and_invented_values() {
    use serde_json::json;
    let raw = json!({"id": "c1", "cause": 17, "list": ["a"], "nested": {"state": "Up"}});
    let same = json!({"id": "c1", "cause": 17, "list": ["a"], "nested": {"state": "Up"}, "opt": null, "empty": ""});
    let mut out = Vec::new();
    differences(&same, &raw, "", &mut out);
    assert!(out.is_empty(), "{out:?}");
    let wrong =
        json!({"id": "c2", "cause": 17, "list": [], "nested": {"state": "Down"}, "made_up": "x"});
    differences(&wrong, &raw, "", &mut out);
    assert_eq!(out.len(), 4, "{out:#?}");
}

#[test]
fn decode_errors_do_not_carry_the_values_asterisk_sent() {
    let e = crate::voice::ari::rest_decode::<crate::voice::ari::models::Channel>(
        "channels.get",
        br#"{"id":"c1","dialplan":{"priority":"+15557654321"}}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("channels.get") && e.contains("dialplan.priority"),
        "{e}"
    );
    assert!(!e.contains("15557654321"), "{e}");
}
