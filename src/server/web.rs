//! The static files the hub serves: the reference UI (`/`, `/app/`), the SDK (`/sdk/`, importable
//! cross-origin) and the embedding example (`/examples/`), and nothing else of `web_root` (not
//! its tests, tools or `node_modules`). Every response says `X-Content-Type-Options: nosniff`;
//! the UI's page carries a Content-Security-Policy whose `frame-ancestors` (who may embed it in
//! an iframe) is the deployment's `frame_ancestors`.

use axum::http::{header, HeaderValue};
use axum::Router;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};
use tower_http::set_header::SetResponseHeaderLayer;

/// The UI's policy: its own scripts and styles only, the hub's own WebSocket (`'self'` covers
/// same-host `ws:`/`wss:` in CSP Level 3), camera streams and
/// blobs for media, no plugins, no `<base>` tricks.
fn content_security_policy(frame_ancestors: &str) -> String {
    format!(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
         media-src 'self' blob: mediastream:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors {frame_ancestors}"
    )
}

/// Routes for the static files under `web_root`.
pub(super) fn routes<S: Clone + Send + Sync + 'static>(
    web_root: &Path,
    frame_ancestors: &str,
) -> Result<Router<S>, String> {
    let csp = HeaderValue::from_str(&content_security_policy(frame_ancestors))
        .map_err(|_| format!("frame_ancestors {frame_ancestors:?} is not a valid header value"))?;
    let page = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            csp,
        ))
        .service(ServeFile::new(web_root.join("index.html")));
    // The SDK is public code that partner pages import cross-origin as ES modules, which
    // browsers only allow with CORS. No credentials are involved.
    let sdk = tower::ServiceBuilder::new()
        .layer(SetResponseHeaderLayer::overriding(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ))
        .service(ServeDir::new(web_root.join("sdk")));
    Ok(Router::new()
        .route_service("/", page.clone())
        .route_service("/index.html", page)
        .nest_service("/app", ServeDir::new(web_root.join("app")))
        .nest_service("/sdk", sdk)
        .nest_service("/examples", ServeDir::new(web_root.join("examples")))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )))
}
