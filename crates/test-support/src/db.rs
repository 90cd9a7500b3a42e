//! `TestDb`: with `DATABASE_URL` set, a fresh database on that server per test; without it, one private
//! cluster under `target/` shared by every test binary (file-locked), never `serve`'s `./.ledger/pg`.
//! Each test database is cloned from a template migrated once per migration set.
use std::path::PathBuf;

use ledger_pgcluster::{Cluster, ClusterOptions};
use ledger_store::PgPool;
use ledger_store::db::{self, PoolSettings, quote_ident};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use tokio::sync::OnceCell;

pub struct TestDb {
    pub pool: PgPool,
    pub url: String,
    name: String,
    admin_url: String,
}

/// Builds the URL of a database on the test server from its name.
type UrlFor = Box<dyn Fn(&str) -> String + Send + Sync>;

struct Server {
    admin_url: String,
    url_for: UrlFor,
    template: String,
}

static SERVER: OnceCell<Server> = OnceCell::const_new();

impl TestDb {
    pub async fn new() -> Self {
        let server = SERVER.get_or_init(init_server).await;
        let name = format!("ledger_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(&server.admin_url).await.expect("connect to the test server");
        let stmt = format!("CREATE DATABASE {} TEMPLATE {}", quote_ident(&name), quote_ident(&server.template));
        sqlx::raw_sql(sqlx::AssertSqlSafe(stmt)).execute(&mut admin).await.expect("create the test database");
        admin.close().await.ok();
        let url = (server.url_for)(&name);
        let pool = db::connect(&url, &PoolSettings { max_connections: 20, ..PoolSettings::default() })
            .await
            .expect("connect to the test database");
        Self { pool, url, name, admin_url: server.admin_url.clone() }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        // Dropped inside a runtime: do the blocking cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async move {
                if let Ok(mut c) = PgConnection::connect(&admin).await {
                    let stmt = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(&name));
                    let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(stmt)).execute(&mut c).await;
                }
            });
        })
        .join();
    }
}

async fn init_server() -> Server {
    let (admin_url, url_for): (String, UrlFor) = match std::env::var("DATABASE_URL") {
        Ok(url) if !url.trim().is_empty() => {
            let base = url::Url::parse(&url).expect("DATABASE_URL must be a URL");
            let for_db = move |db: &str| {
                let mut u = base.clone();
                u.set_path(&format!("/{db}"));
                u.to_string()
            };
            (url, Box::new(for_db))
        }
        _ => {
            let opts = ClusterOptions {
                fast_unsafe: true,
                production: false,
                ..ClusterOptions::new(target_dir().join("ledger-test-pg").join("data"))
            };
            let cluster = tokio::task::spawn_blocking(move || Cluster::ensure(&opts))
                .await
                .expect("cluster task")
                .expect("start the private test cluster");
            let admin = cluster.admin_url();
            let socket = cluster.socket_dir().display().to_string();
            let for_db =
                move |db: &str| format!("postgres://{}@localhost:5432/{db}?host={socket}", ledger_pgcluster::DB_USER);
            (admin, Box::new(for_db))
        }
    };
    let template = format!("ledger_tpl_{}", migrations_hash());
    ensure_template(&admin_url, &template, &url_for(&template)).await;
    Server { admin_url, url_for, template }
}

/// Creates and migrates the template once; an advisory lock keeps concurrent test binaries in step.
async fn ensure_template(admin_url: &str, template: &str, template_url: &str) {
    let mut admin = PgConnection::connect(admin_url).await.expect("connect to the test server");
    sqlx::query("SELECT pg_advisory_lock(727274)").execute(&mut admin).await.expect("advisory lock");
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1 AND datistemplate)")
            .bind(template)
            .fetch_one(&mut admin)
            .await
            .expect("look up the template");
    if !exists {
        let drop = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", quote_ident(template));
        sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.expect("drop a half-made template");
        let create = format!("CREATE DATABASE {}", quote_ident(template));
        sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut admin).await.expect("create the template");
        let pool = db::connect(template_url, &PoolSettings::default()).await.expect("connect to the template");
        db::migrate(&pool).await.expect("migrate the template");
        pool.close().await;
        let mark = format!("ALTER DATABASE {} WITH IS_TEMPLATE true", quote_ident(template));
        sqlx::raw_sql(sqlx::AssertSqlSafe(mark)).execute(&mut admin).await.expect("mark the template");
    }
    sqlx::query("SELECT pg_advisory_unlock(727274)").execute(&mut admin).await.ok();
    admin.close().await.ok();
}

fn migrations_hash() -> String {
    let mut h = Sha256::new();
    for m in db::MIGRATOR.iter().chain(apalis_postgres::PostgresStorage::migrations().iter()) {
        h.update(m.version.to_le_bytes());
        h.update(&*m.checksum);
    }
    hex::encode(&h.finalize()[..8])
}

fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target")
}
