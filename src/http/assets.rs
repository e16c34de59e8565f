//! The web UI in `web/`, compiled into the binary (read from disk in debug builds).

use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rust_embed::RustEmbed;

use super::error::envelope;

#[derive(RustEmbed)]
#[folder = "web/"]
#[exclude = "*.test.*"]
struct Web;

// The pages load only our own scripts and styles: an injected string can never run.
const CSP: &str = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; \
                   script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// Every embedded asset path, for the test that checks `index.html`'s references.
pub fn asset_paths() -> Vec<String> {
    Web::iter().map(|p| p.to_string()).collect()
}

/// Serves `/` as `index.html` and any other embedded file at its path; everything else is a
/// 404 in the error envelope (API clients never receive HTML).
///
/// Every asset is revalidated (`no-cache` + a content-hash `ETag`, answered 304 when unchanged),
/// so after an upgrade a browser never runs a mix of old and new modules.
pub async fn fallback(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let servable = (method == Method::GET || method == Method::HEAD) && !path.starts_with("api/");
    let Some(file) = Web::get(path).filter(|_| servable) else {
        return envelope(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {} {}", method, uri.path()),
        );
    };
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mime = file.metadata.mimetype();
    let mut res = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_str(mime)
                    .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            )],
            file.data.into_owned(),
        )
            .into_response()
    };
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    if mime.starts_with("text/html") {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    res
}
