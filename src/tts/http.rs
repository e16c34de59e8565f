//! `GET /media/tts/{shard}/{file}`: rendered prompts from the TTS cache, for Asterisk to play
//! as `sound:http://…/media/tts/ab/ab12….sln16` when it does not share our disk.
//!
//! No login: Asterisk's media cache cannot send one. The names are sha-256 content keys of
//! prompts that carry no personal data (PII prompts are rendered into the scratch folder,
//! never the cache), so a name reveals nothing and cannot be guessed from outside. The answer
//! is immutable, which lets Asterisk's media cache keep it (ARI.md §3.1).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::http::error::{ErrorBody, envelope};
use crate::http::extract::AppPath;

/// The routes of this module.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(prompt))
}

/// Content type per cached format. Raw signed linear has no registered type, so it goes out
/// as octet-stream and Asterisk picks the format from the URL's extension; an 8 kHz `.wav` is
/// what `format_wav` expects behind `audio/wav`.
fn content_type(extension: &str) -> Option<&'static str> {
    match extension {
        "sln16" | "sln" => Some("application/octet-stream"),
        "wav" => Some("audio/wav"),
        _ => None,
    }
}

/// `ab` and `ab12…(64 hex).sln16` → the extension, when both are well-formed and agree.
fn checked_name<'a>(shard: &str, file: &'a str) -> Option<&'a str> {
    let (key, extension) = file.split_once('.')?;
    let hex = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    (key.len() == 64 && hex(key) && shard.len() == 2 && key.starts_with(shard))
        .then_some(extension)
        .filter(|e| content_type(e).is_some())
}

/// A rendered prompt from the TTS cache.
#[utoipa::path(get, path = "/media/tts/{shard}/{file}", tag = "ivr",
    params(("shard" = String, Path, description = "the key's first two hex digits"),
        ("file" = String, Path, description = "`<sha-256 key>.sln16`, `.sln` or `.wav`")),
    responses((status = 200, description = "the audio"), (status = 404, body = ErrorBody)))]
async fn prompt(
    State(state): State<AppState>,
    AppPath((shard, file)): AppPath<(String, String)>,
) -> Response {
    let not_found = || envelope(StatusCode::NOT_FOUND, "not_found", "no such prompt");
    let Some(extension) = checked_name(&shard, &file) else {
        return not_found();
    };
    let path = state.config.tts_cache_dir().join(&shard).join(&file);
    let Ok(bytes) = tokio::fs::read(&path).await else {
        return not_found();
    };
    let mut res = bytes.into_response();
    let h = res.headers_mut();
    if let Some(ct) = content_type(extension) {
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", &file[..64])) {
        h.insert(header::ETAG, etag);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_cache_names_are_served() {
        let key = "ab".to_owned() + &"0".repeat(62);
        assert_eq!(checked_name("ab", &format!("{key}.sln16")), Some("sln16"));
        assert_eq!(checked_name("ab", &format!("{key}.wav")), Some("wav"));
        assert_eq!(checked_name("cd", &format!("{key}.sln16")), None);
        assert_eq!(checked_name("ab", &format!("{key}.json")), None);
        assert_eq!(checked_name("ab", &format!("{}.sln16", &key[..63])), None);
        assert_eq!(checked_name("ab", "../../../etc/passwd"), None);
        assert_eq!(
            checked_name("AB", &format!("{}.sln16", key.to_uppercase())),
            None
        );
    }
}
