//! IMAP IDLE (RFC 2177): wait for the server to announce new mail, at most `max`.

use std::future::Future;
use std::time::Duration;

use async_imap::extensions::idle::IdleResponse;

use super::error::ImapError;
use super::session::{Session, OP_TIMEOUT};

/// Why an IDLE ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wake {
    /// The server sent something (EXISTS, EXPUNGE, …): check the folder.
    NewData,
    /// `max` elapsed: time for the periodic check (and to renew the IDLE before the
    /// server's 30-minute inactivity limit).
    Timeout,
    /// `stop` resolved (shutdown or reload).
    Stopped,
}

impl Session {
    /// IDLEs until the server reports a change, `max` elapses, or `stop` resolves; then
    /// sends DONE and gives the session back.
    ///
    /// Consumes the session because async-imap's IDLE handle owns it; on error the
    /// connection is gone anyway.
    pub async fn idle(
        self,
        max: Duration,
        stop: impl Future<Output = ()>,
    ) -> Result<(Session, Wake), ImapError> {
        let Session {
            raw,
            caps,
            delimiter,
        } = self;
        let mut handle = raw.idle();
        match tokio::time::timeout(OP_TIMEOUT, handle.init()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(ImapError::from_imap("IDLE", e)),
            Err(_) => return Err(ImapError::Timeout(OP_TIMEOUT, "IDLE")),
        }
        let wake = {
            let (wait, interrupt) = handle.wait_with_timeout(max);
            let mut interrupt = Some(interrupt);
            let mut ours = Wake::NewData;
            tokio::pin!(wait);
            tokio::pin!(stop);
            let deadline = tokio::time::sleep(max);
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    r = &mut wait => {
                        break match r {
                            Ok(IdleResponse::NewData(resp)) => {
                                use async_imap::imap_proto::{Response, Status};
                                if let Response::Data { status: Status::Bye, information, .. } =
                                    resp.parsed()
                                {
                                    return Err(ImapError::Bye(
                                        information.as_deref().unwrap_or("BYE").to_string(),
                                    ));
                                }
                                Wake::NewData
                            }
                            Ok(IdleResponse::Timeout) => Wake::Timeout,
                            // Our own interrupt (or EOF, which DONE below will report).
                            Ok(IdleResponse::ManualInterrupt) => ours,
                            Err(e) => return Err(ImapError::from_imap("IDLE", e)),
                        };
                    }
                    _ = &mut deadline, if interrupt.is_some() => {
                        ours = Wake::Timeout;
                        interrupt = None;
                    }
                    _ = &mut stop, if interrupt.is_some() => {
                        ours = Wake::Stopped;
                        interrupt = None;
                    }
                }
            }
        };
        let raw = match tokio::time::timeout(OP_TIMEOUT, handle.done()).await {
            Ok(Ok(raw)) => raw,
            Ok(Err(e)) => return Err(ImapError::from_imap("DONE", e)),
            Err(_) => return Err(ImapError::Timeout(OP_TIMEOUT, "DONE")),
        };
        Ok((
            Session {
                raw,
                caps,
                delimiter,
            },
            wake,
        ))
    }
}
