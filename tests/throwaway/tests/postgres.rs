//! A throwaway PostgreSQL server starts, takes connections, keeps its data
//! across a stop and a crash, and goes away on drop.

use std::net::{Ipv4Addr, TcpStream};

use allot_throwaway::Postgres;

#[test]
fn starts_serves_and_keeps_data_across_restarts() {
    let mut pg = Postgres::start().unwrap();
    let port = pg.port();
    assert_eq!(
        pg.url(),
        format!("postgres://postgres@127.0.0.1:{port}/allot")
    );
    assert!(pg.pid().is_some());

    // Connected over TCP to the database `allot`, as the URL says.
    assert_eq!(
        pg.psql("SELECT current_database() || ' ' || current_user")
            .unwrap(),
        "allot postgres"
    );
    assert_eq!(pg.psql("SHOW fsync").unwrap(), "on");
    assert_eq!(pg.psql("SHOW port").unwrap(), port.to_string());
    pg.psql("CREATE TABLE kept (id int PRIMARY KEY, note text)")
        .unwrap();
    pg.psql("INSERT INTO kept VALUES (1, 'before the stop')")
        .unwrap();

    pg.stop().unwrap();
    assert_eq!(pg.pid(), None);
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    assert!(pg.psql("SELECT 1").is_err());

    pg.start_again().unwrap();
    assert_eq!(pg.port(), port);
    assert_eq!(pg.psql("SELECT note FROM kept").unwrap(), "before the stop");

    // A committed row survives an immediate shutdown (WAL recovery).
    pg.psql("INSERT INTO kept VALUES (2, 'before the crash')")
        .unwrap();
    pg.crash().unwrap();
    pg.start_again().unwrap();
    assert_eq!(
        pg.psql("SELECT string_agg(note, ', ' ORDER BY id) FROM kept")
            .unwrap(),
        "before the stop, before the crash"
    );
    assert!(pg.start_again().is_err(), "a running server starts twice");
}

#[test]
fn drop_stops_the_server_and_removes_the_directory() {
    let pg = Postgres::start().unwrap();
    let dir = pg.dir().to_path_buf();
    let port = pg.port();
    assert!(dir.join("data").join("PG_VERSION").exists());
    assert!(pg.log_path().exists());
    drop(pg);
    assert!(!dir.exists());
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
}

#[test]
fn two_servers_run_side_by_side() {
    let a = Postgres::start().unwrap();
    let b = Postgres::start().unwrap();
    assert_ne!(a.port(), b.port());
    a.psql("CREATE TABLE only_in_a (x int)").unwrap();
    assert!(b.psql("SELECT * FROM only_in_a").is_err());
}

#[test]
fn a_failed_start_quotes_the_log() {
    let mut pg = Postgres::start().unwrap();
    pg.stop().unwrap();
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, pg.port())).unwrap();
    let err = format!("{:#}", pg.start_again().unwrap_err());
    assert!(err.contains("did not start"), "{err}");
    assert!(err.contains("postgres.log"), "{err}");
    assert!(err.contains("Address already in use"), "{err}");
    drop(taken);
    pg.start_again().unwrap();
    assert_eq!(pg.psql("SELECT 1").unwrap(), "1");
}
