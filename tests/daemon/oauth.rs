//! XOAUTH2 against Dovecot's own XOAUTH2 (the SASL exchange Gmail and Microsoft 365
//! use): the test plays the identity provider Dovecot asks about each token
//! (`GET /userinfo` with the Bearer token, as Microsoft's Graph and Google's
//! user-info endpoints answer), everything else is real.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::mail::notification;
use crate::support::{count_processed, wait_until, Harness, Opts};

/// A user-info endpoint that knows one token: the tokens it was asked about.
async fn identity_provider(port: u16, token: String, user: String) -> Arc<Mutex<Vec<String>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| panic!("the OAuth port {port} is taken: {e}"));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let (token, user, log) = (token.clone(), user.clone(), log.clone());
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 2048];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&req);
                let bearer = text
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization")
                            .then(|| v.trim().strip_prefix("Bearer ").unwrap_or("").to_owned())
                    })
                    .unwrap_or_default();
                log.lock().unwrap().push(bearer.clone());
                // RFC 7662: an unknown (revoked, expired) token is `active: false`.
                let (status, body) = if bearer == token {
                    (
                        "200 OK",
                        format!("{{\"active\":\"true\",\"username\":\"{user}\"}}"),
                    )
                } else {
                    ("200 OK", "{\"active\":\"false\"}".to_owned())
                };
                let resp = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn xoauth2_logs_in_with_a_valid_token_and_backs_off_on_a_bad_one() {
    let Some(stack) = crate::common::stack() else {
        return;
    };
    let Some(port) = stack.oauth_port else {
        assert!(!crate::common::in_ci(), "the mail stack has no OAuth port");
        return;
    };
    let user = crate::common::unique_user("d-oauth");
    let token = format!("ya29.{}", fastrand::u64(..));
    let seen = identity_provider(port, token.clone(), user.clone()).await;

    // A valid token: the daemon logs in and processes the mail.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let http = crate::support::free_port();
    let opts = Opts {
        token_file: Some(token_file.clone()),
        http_port: Some(http),
        reconnect_max: "1s",
        ..Default::default()
    };
    let h = Harness::new(stack, &user, stack.imap_port, &opts);
    let store = h.store().await;
    let mut imap = stack.imap(&user).await;
    imap.append(
        "INBOX",
        &notification(fastrand::u32(..), 1, false, false, true).raw,
    )
    .await;
    let daemon = h.start();
    wait_until(
        Duration::from_secs(20),
        "the message, over XOAUTH2",
        || async { (count_processed(&store).await == 1).then_some(()) },
    )
    .await;
    daemon.stop().await;
    assert!(
        seen.lock().unwrap().contains(&token),
        "Dovecot never asked about the token: {:?}",
        seen.lock().unwrap()
    );

    // A revoked token: refused by the server, retried with backoff, nothing lost.
    std::fs::write(&token_file, "ya29.revoked\n").unwrap();
    seen.lock().unwrap().clear();
    imap.append(
        "INBOX",
        &notification(fastrand::u32(..), 2, false, false, true).raw,
    )
    .await;
    let daemon = h.start();
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Reported as a refused login (the server's JSON challenge answered and the
    // NO read), not as a broken connection; the token itself is never shown.
    let (_, metrics) = crate::support::http_get(http, "/metrics").await;
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("leje_errors_total{component=\"shared\",kind=\"auth\"}")),
        "no auth error counted:\n{metrics}"
    );
    let (_, health) = crate::support::http_get(http, "/healthz").await;
    assert!(health.contains("login as"), "{health}");
    assert!(!health.contains("ya29"), "{health}");
    daemon.stop().await;
    let asked = seen.lock().unwrap().clone();
    assert!(asked.iter().all(|t| t == "ya29.revoked"), "{asked:?}");
    // Backoff, not a busy loop: 3 s with delays of 0.5 s .. 1 s allow at most ~7 tries.
    assert!(
        (1..=8).contains(&asked.len()),
        "{} logins in 3 s",
        asked.len()
    );
    assert_eq!(
        count_processed(&store).await,
        1,
        "nothing processed without a login"
    );
    assert_eq!(
        imap.count("INBOX").await,
        1,
        "the new message is still there"
    );
}
