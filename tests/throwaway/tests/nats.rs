//! A throwaway NATS server starts with JetStream, keeps its store across a
//! stop and a kill, and goes away on drop. The checks speak the NATS
//! protocol over a plain TCP socket (PUB, SUB, request and reply to the
//! JetStream API).

use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::time::Duration;

use allot_throwaway::Nats;

/// A minimal NATS client: connect, then request and read one reply.
struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn connect(nats: &Nats) -> Client {
        let stream = TcpStream::connect((Ipv4Addr::LOCALHOST, nats.port()))
            .expect("connecting to nats-server");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("setting a read timeout");
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().expect("cloning the socket")),
            writer: stream,
        };
        let info = client.line();
        assert!(info.starts_with("INFO "), "{info}");
        assert!(info.contains("\"jetstream\":true"), "{info}");
        client.send("CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB _INBOX.t 1\r\n");
        client
    }

    fn send(&mut self, text: &str) {
        self.writer
            .write_all(text.as_bytes())
            .expect("writing to nats-server");
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader
            .read_line(&mut line)
            .expect("reading from nats-server (10 s at most)");
        line.trim_end().to_owned()
    }

    /// Sends `payload` to `subject` with the inbox as reply subject and
    /// returns the payload of the first message back.
    fn request(&mut self, subject: &str, payload: &str) -> String {
        self.send(&format!(
            "PUB {subject} _INBOX.t {}\r\n{payload}\r\nPING\r\n",
            payload.len()
        ));
        loop {
            let line = self.line();
            if line.starts_with("MSG ") {
                let payload = self.line();
                return payload;
            }
            assert!(
                line == "PONG" || line == "PING" || line.starts_with("INFO"),
                "{line}"
            );
        }
    }
}

#[test]
fn starts_with_jetstream_and_keeps_the_store_across_restarts() {
    let mut nats = Nats::start().unwrap();
    let port = nats.port();
    assert_eq!(nats.url(), format!("nats://127.0.0.1:{port}"));
    assert!(nats.pid().is_some());

    let mut client = Client::connect(&nats);
    let created = client.request(
        "$JS.API.STREAM.CREATE.KEPT",
        r#"{"name":"KEPT","subjects":["kept.>"],"storage":"file"}"#,
    );
    assert!(created.contains("\"name\":\"KEPT\""), "{created}");
    let ack = client.request("kept.one", "hello");
    assert!(ack.contains("\"seq\":1"), "{ack}");
    drop(client);

    nats.stop().unwrap();
    assert_eq!(nats.pid(), None);
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    nats.start_again().unwrap();
    assert_eq!(nats.port(), port);
    let mut client = Client::connect(&nats);
    let info = client.request("$JS.API.STREAM.INFO.KEPT", "");
    assert!(info.contains("\"messages\":1"), "{info}");
    let ack = client.request("kept.two", "again");
    assert!(ack.contains("\"seq\":2"), "{ack}");
    drop(client);

    // After SIGKILL the acknowledged messages are still there.
    nats.kill().unwrap();
    nats.start_again().unwrap();
    let mut client = Client::connect(&nats);
    let info = client.request("$JS.API.STREAM.INFO.KEPT", "");
    assert!(info.contains("\"messages\":2"), "{info}");
    assert!(nats.start_again().is_err(), "a running server starts twice");
}

#[test]
fn drop_kills_the_server_and_removes_the_directory() {
    let nats = Nats::start().unwrap();
    let dir = nats.dir().to_path_buf();
    let port = nats.port();
    assert!(nats.log_path().exists());
    drop(nats);
    assert!(!dir.exists());
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
}

#[test]
fn a_failed_start_quotes_the_log() {
    let mut nats = Nats::start().unwrap();
    nats.stop().unwrap();
    let taken = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, nats.port())).unwrap();
    let err = format!("{:#}", nats.start_again().unwrap_err());
    assert!(err.contains("exited on start"), "{err}");
    assert!(err.contains("nats.log"), "{err}");
    assert!(err.contains("address already in use"), "{err}");
    drop(taken);
    nats.start_again().unwrap();
    Client::connect(&nats);
}
