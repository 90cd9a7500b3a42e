//! The private cluster: start, attach, stop, recover from a stale `postmaster.pid`, and the refusals.

use std::path::Path;

use ledger_pgcluster::{Cluster, ClusterError, ClusterOptions, find_binaries};

fn temp_dir(name: &str) -> std::path::PathBuf {
    // Under /var/tmp so an unprivileged PostgreSQL user can reach it when the tests run as root.
    let dir = Path::new("/var/tmp").join(format!("ledger-cluster-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    dir
}

fn options(dir: &Path) -> ClusterOptions {
    ClusterOptions { fast_unsafe: true, production: false, ..ClusterOptions::new(dir.join("data")) }
}

#[test]
fn starts_attaches_stops_and_survives_a_stale_pid_file() {
    let dir = temp_dir("lifecycle");
    let first = Cluster::ensure(&options(&dir)).expect("start");
    assert!(first.started_here());
    assert!(first.data_dir().join("PG_VERSION").exists());
    let second = Cluster::ensure(&options(&dir)).expect("attach");
    assert!(!second.started_here(), "a running cluster is attached to, not started again");
    second.stop().expect("stop of an attached cluster is a no-op");
    assert!(first.data_dir().join("postmaster.pid").exists(), "the attached handle did not stop it");
    first.stop().expect("stop");
    assert!(!first.data_dir().join("postmaster.pid").exists());

    // A crash leaves postmaster.pid behind with a pid that is gone.
    std::fs::write(first.data_dir().join("postmaster.pid"), "999999\n/nonexistent\n").unwrap();
    let again = Cluster::ensure(&options(&dir)).expect("start after a stale pid file");
    assert!(again.started_here());
    again.stop().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn production_refuses_the_embedded_database() {
    let opts = ClusterOptions { production: true, ..ClusterOptions::new("/nonexistent/data") };
    let err = Cluster::ensure(&opts).unwrap_err();
    assert!(matches!(err, ClusterError::Production));
    assert!(err.to_string().contains("LEDGER_DATABASE__URL"), "{err}");
}

#[test]
fn missing_binaries_are_explained() {
    let empty = temp_dir("nobin");
    assert!(find_binaries(Some(empty.as_os_str().to_owned()), &empty).is_none());
    let msg = ClusterError::NoBinaries.to_string();
    assert!(msg.contains("apt-get install postgresql") && msg.contains("DATABASE_URL"), "{msg}");
    let _ = std::fs::remove_dir_all(&empty);
}
