//! The web UI in `web/`, compiled into the binary (read from disk in debug builds).

use axum::http::{HeaderValue, Method, StatusCode, Uri, header};
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
pub async fn fallback(method: Method, uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    let servable = (method == Method::GET || method == Method::HEAD) && !path.starts_with("api/");
    match Web::get(path).filter(|_| servable) {
        Some(file) => {
            let mime = file.metadata.mimetype();
            let cache = if path == "index.html" {
                "no-cache"
            } else {
                "public, max-age=300"
            };
            let mut res = (
                [
                    (
                        header::CONTENT_TYPE,
                        HeaderValue::from_str(mime)
                            .unwrap_or(HeaderValue::from_static("application/octet-stream")),
                    ),
                    (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
                ],
                file.data.into_owned(),
            )
                .into_response();
            if mime.starts_with("text/html") {
                res.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP),
                );
            }
            res
        }
        None => envelope(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no route for {} {}", method, uri.path()),
        ),
    }
}
