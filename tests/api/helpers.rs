//! `spawn_app()` and typed request helpers shared by every integration test.

use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use switchboard::app::App;
use switchboard::config::Config;
use switchboard::store::Store;

pub const OPERATOR_EMAIL: &str = "operator@example.com";
pub const OPERATOR_PASSWORD: &str = "operator-pass-1";
pub const PASSWORD: &str = "member-pass-123";

/// A fresh database for one test, dropped afterwards (PostgreSQL) or deleted with its folder (SQLite).
pub struct TestDb {
    pub url: String,
    admin_url: Option<String>,
    name: String,
}

impl TestDb {
    pub async fn new(dir: &std::path::Path) -> Self {
        let backend = std::env::var("SWITCHBOARD_TEST_BACKEND").unwrap_or_default();
        if backend == "postgres" {
            let admin_url = std::env::var("SWITCHBOARD_TEST_POSTGRES_URL").expect(
                "SWITCHBOARD_TEST_POSTGRES_URL must be set when SWITCHBOARD_TEST_BACKEND=postgres",
            );
            let name = format!("sbtest_{}", uuid::Uuid::new_v4().simple());
            let conn = sqlx::PgPool::connect(&admin_url)
                .await
                .expect("connect to PostgreSQL");
            sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                .execute(&conn)
                .await
                .expect("create db");
            conn.close().await;
            let mut url = url::Url::parse(&admin_url).expect("postgres url");
            url.set_path(&name);
            TestDb {
                url: url.to_string(),
                admin_url: Some(admin_url),
                name,
            }
        } else {
            TestDb {
                url: format!("sqlite://{}", dir.join("test.db").display()),
                admin_url: None,
                name: String::new(),
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin_url) = self.admin_url.clone() else {
            return;
        };
        let name = self.name.clone();
        // Drop runs inside the test's runtime; a separate thread with its own runtime can block.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok(conn) = sqlx::PgPool::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "drop database if exists {name} with (force)"
                    )))
                    .execute(&conn)
                    .await;
                    conn.close().await;
                }
            });
        })
        .join();
    }
}

pub struct TestApp {
    pub base: String,
    pub store: Store,
    /// The running service's shared state (its services, for driving timers in tests).
    pub state: switchboard::app::AppState,
    config: Config,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _db: TestDb,
    _dir: tempfile::TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Config)) -> TestApp {
    switchboard::telemetry::init_for_test();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = TestDb::new(dir.path()).await;
    let mut config = Config {
        listen: "127.0.0.1:0".into(),
        data_dir: dir.path().to_path_buf(),
        admin_email: OPERATOR_EMAIL.into(),
        admin_password: Some(OPERATOR_PASSWORD.into()),
        ..Config::default()
    };
    config.database.url = Some(db.url.clone());
    config.database.max_connections = 5;
    customise(&mut config);
    let app = App::build(config.clone()).await.expect("app builds");
    let mut test_app = TestApp {
        base: String::new(),
        store: app.state().store.clone(),
        state: app.state().clone(),
        config,
        stop: None,
        server: None,
        _db: db,
        _dir: dir,
    };
    test_app.launch(app);
    test_app
}

impl TestApp {
    fn launch(&mut self, app: App) {
        self.base = format!("http://127.0.0.1:{}", app.port());
        self.store = app.state().store.clone();
        self.state = app.state().clone();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        self.stop = Some(tx);
        self.server = Some(tokio::spawn(app.run_until_stopped(async move {
            let _ = rx.await;
        })));
    }

    /// Stops the server gracefully and starts a new one on the same database and data
    /// folder, as a restart of the service would.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Stops the service (as a crash or an upgrade would), to change the world meanwhile.
    pub async fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server
                .await
                .expect("server task")
                .expect("server stopped cleanly");
        }
    }

    /// Starts the service again after [`stop`](Self::stop), on the same database.
    pub async fn start_again(&mut self) {
        let app = App::build(self.config.clone()).await.expect("app rebuilds");
        self.launch(app);
    }
}

/// A unique email for this test run.
pub fn unique_email(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}{}-{}@example.com",
        N.fetch_add(1, Ordering::Relaxed),
        uuid::Uuid::new_v4().simple()
    )
}

/// A client with its own cookie jar, its CSRF token, or an API key.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    http: reqwest::Client,
    csrf: Option<String>,
    bearer: Option<String>,
    pub user_id: Option<i64>,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
}

impl TestApp {
    /// A client with no credentials.
    pub fn anonymous(&self) -> Client {
        Client {
            base: self.base.clone(),
            http: reqwest::Client::builder()
                .cookie_store(true)
                .build()
                .expect("client"),
            csrf: None,
            bearer: None,
            user_id: None,
        }
    }

    /// Signs in and returns the client holding the session.
    pub async fn login(&self, email: &str, password: &str) -> Client {
        let mut c = self.anonymous();
        let r = c.try_login(email, password).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "login of {email} failed: {}",
            r.body
        );
        c.csrf = r.body["csrf_token"].as_str().map(str::to_owned);
        c.user_id = r.body["user"]["id"].as_i64();
        c
    }

    pub async fn operator(&self) -> Client {
        self.login(OPERATOR_EMAIL, OPERATOR_PASSWORD).await
    }

    /// A client authenticating with an API key.
    pub fn with_key(&self, secret: &str) -> Client {
        Client {
            bearer: Some(secret.to_owned()),
            ..self.anonymous()
        }
    }

    /// Creates a tenant as the operator; returns its id.
    pub async fn create_tenant(&self, op: &Client, slug: &str) -> i64 {
        let r = op
            .post(
                "/api/v1/tenants",
                json!({"name": format!("Tenant {slug}"), "slug": slug}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        r.body["id"].as_i64().expect("id")
    }

    /// Adds a member with a known password; returns (user id, signed-in client).
    pub async fn member(&self, op: &Client, tid: i64, role: &str) -> (i64, Client) {
        let email = unique_email(role);
        let r = op
            .post(
                &format!("/api/v1/tenants/{tid}/users"),
                json!({"email": email, "name": format!("Test {role}"), "role": role, "password": PASSWORD}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let id = r.body["user"]["id"].as_i64().expect("id");
        (id, self.login(&email, PASSWORD).await)
    }

    /// Creates an API key with `role` in tenant `tid`; returns (key id, secret).
    pub async fn api_key(&self, admin: &Client, tid: i64, role: &str) -> (i64, String) {
        let r = admin
            .post(
                &format!("/api/v1/tenants/{tid}/api-keys"),
                json!({"name": format!("{role} key"), "role": role}),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        (
            r.body["api_key"]["id"].as_i64().expect("id"),
            r.body["secret"].as_str().expect("secret").to_owned(),
        )
    }
}

impl Client {
    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Reply {
        let mut req = self
            .http
            .request(method.clone(), format!("{}{}", self.base, path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = &self.csrf {
            req = req.header("x-csrf-token", t);
        }
        if let Some(k) = &self.bearer {
            req = req.bearer_auth(k);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    /// One login attempt, whatever its outcome.
    pub async fn try_login(
        &self,
        email: impl std::fmt::Display,
        password: impl std::fmt::Display,
    ) -> Reply {
        self.post(
            "/api/v1/auth/login",
            json!({"email": email.to_string(), "password": password.to_string()}),
        )
        .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.request(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Reply {
        self.request(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Reply {
        self.request(Method::DELETE, path, None).await
    }

    /// The same session without the CSRF header.
    pub fn without_csrf(&self) -> Client {
        Client {
            csrf: None,
            ..self.clone()
        }
    }

    /// Raw access for tests that send unusual bodies.
    pub fn raw(&self) -> &reqwest::Client {
        &self.http
    }
}
