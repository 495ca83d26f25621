//! A new, empty database in a throwaway PostgreSQL cluster
//! (`scripts/pg-throwaway`), for a test or a bench of the PostgreSQL store.

/// Creates a database named `{prefix}_{random}` in the cluster at
/// `admin_url` (whose user may create databases); its URL. Blocking.
///
/// # Panics
/// When the cluster cannot be reached or refuses.
pub fn new_database(admin_url: &str, prefix: &str) -> String {
    let mut client = postgres::Client::connect(admin_url, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach the PostgreSQL cluster at {admin_url}: {e}"));
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("the cluster's URL ends with /DATABASE");
    format!("{base}/{name}")
}

/// The test cluster's admin URL from `FYNCALL_TEST_POSTGRES`.
///
/// # Panics
/// When it is not set (`scripts/test` sets it).
pub fn test_cluster() -> String {
    std::env::var("FYNCALL_TEST_POSTGRES").unwrap_or_else(|_| {
        panic!(
            "set FYNCALL_TEST_POSTGRES to a PostgreSQL URL whose user may create databases \
             (scripts/test starts a throwaway cluster and sets it)"
        )
    })
}
