//! Event bodies with the key sets Asterisk 22.10.1 sent in `asterisk-ari/captured/`.

use serde_json::{Map, Value, json};

/// The entity id every captured message carries.
pub const ASTERISK_ID: &str = "02:fc:00:00:00:01";

/// Asterisk's timestamp format (`2026-11-23T20:29:00.848+0000`).
pub fn timestamp() -> String {
    chrono::Utc::now()
        .format("%Y-%m-%dT%H:%M:%S%.3f%z")
        .to_string()
}

/// An event of `kind` for `app` carrying `fields` plus the envelope keys.
pub fn event(app: &str, kind: &str, fields: Value) -> Value {
    let mut body = match fields {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    body.insert("type".into(), kind.into());
    body.insert("timestamp".into(), timestamp().into());
    body.insert("asterisk_id".into(), ASTERISK_ID.into());
    body.insert("application".into(), app.into());
    Value::Object(body)
}

/// Q.850 text as Asterisk's `ast_cause2str` gives it, for the causes a call here can end with.
pub fn cause_txt(cause: i64) -> &'static str {
    match cause {
        0 => "Unknown",
        1 => "Unallocated (unassigned) number",
        16 => "Normal Clearing",
        17 => "User busy",
        19 => "User alerting, no answer",
        21 => "Call Rejected",
        26 => "Answered elsewhere",
        34 => "Circuit/channel congestion",
        127 => "Interworking, unspecified",
        _ => "Normal, unspecified",
    }
}

/// The cause a `DELETE /channels/{id}?reason=…` hangs up with.
pub fn reason_cause(reason: Option<&str>, code: Option<i64>) -> i64 {
    if let Some(code) = code {
        return code;
    }
    match reason.unwrap_or("normal") {
        "busy" => 17,
        "congestion" => 34,
        "no_answer" | "timeout" => 19,
        "rejected" => 21,
        "unallocated" => 1,
        "normal_unspecified" => 31,
        "number_incomplete" => 28,
        "codec_mismatch" => 58,
        "interworking" => 127,
        "failure" => 38,
        "answered_elsewhere" => 26,
        _ => 16,
    }
}

/// `ChannelDestroyed` fields.
pub fn destroyed(channel: Value, cause: i64, tech_cause: Option<i64>) -> Value {
    let mut v = json!({"cause": cause, "cause_txt": cause_txt(cause), "channel": channel});
    if let Some(t) = tech_cause {
        v["tech_cause"] = t.into();
    }
    v
}
