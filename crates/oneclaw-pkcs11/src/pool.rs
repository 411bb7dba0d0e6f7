//! A pool of long-lived, logged-in sessions, and the one way to call the HSM: on a blocking
//! thread, with a time limit, so a slow or absent HSM never stalls the async runtime.
//!
//! A session that failed with a device or session error is dropped, not returned; the next call
//! opens a fresh one and logs in again, so service resumes by itself when the HSM is back.

use crate::context::{self, Overlap};
use cryptoki::context::Pkcs11;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, SessionState, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use oneclaw_core::{Error, Result};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// How long after a failed call the provider still reports itself degraded.
const DEGRADED_FOR: Duration = Duration::from_secs(30);

/// How long start-up looks for the token before saying it is not there.
const TOKEN_SEARCH: Duration = Duration::from_secs(2);

pub(crate) struct SessionPool {
    context: Pkcs11,
    token_label: String,
    pin: Zeroizing<String>,
    idle: Mutex<Vec<Session>>,
    size: usize,
    permits: Semaphore,
    call_timeout: Duration,
    last_failure: Mutex<Option<Instant>>,
}

impl SessionPool {
    pub(crate) fn new(
        context: Pkcs11,
        token_label: String,
        pin: Zeroizing<String>,
        size: usize,
        call_timeout: Duration,
    ) -> Self {
        let size = size.max(1);
        Self {
            context,
            token_label,
            pin,
            idle: Mutex::new(Vec::with_capacity(size)),
            size,
            permits: Semaphore::new(size),
            call_timeout,
            last_failure: Mutex::new(None),
        }
    }

    /// Opens the pool's sessions now, so a wrong label or PIN stops start-up with a clear message.
    pub(crate) fn warm_up(&self) -> Result<()> {
        self.await_token()?;
        let mut opened = Vec::with_capacity(self.size);
        for _ in 0..self.size {
            opened.push(self.open_session()?);
        }
        self.idle.lock().map_err(|_| poisoned())?.extend(opened);
        Ok(())
    }

    /// Runs `call` with a session on a blocking thread. `what` names the operation in errors.
    /// A call that fails because its session broke (HSM restarted, login lost) is tried once
    /// more on a fresh session, so a recovered HSM is invisible to callers.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, what: &'static str, overlap: Overlap, call: F) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Session) -> Result<T> + Send + Sync + 'static,
    {
        let call = Arc::new(call);
        match self.run_once(what, overlap, Arc::clone(&call)).await {
            Err(Error::Unavailable(first)) => {
                tracing::warn!(operation = what, error = %first, "HSM call failed; retrying on a fresh session");
                self.run_once(what, overlap, call).await
            }
            outcome => outcome,
        }
    }

    async fn run_once<T, F>(self: &Arc<Self>, what: &'static str, overlap: Overlap, call: Arc<F>) -> Result<T>
    where
        T: Send + 'static,
        F: Fn(&Session) -> Result<T> + Send + Sync + 'static,
    {
        let deadline = tokio::time::Instant::now() + self.call_timeout;
        let permit = tokio::time::timeout_at(deadline, self.permits.acquire())
            .await
            .map_err(|_| self.failed(timeout_error(what, self.call_timeout)))?
            .map_err(|_| Error::Internal("HSM session pool closed".to_owned()))?;
        let pool = Arc::clone(self);
        let task = tokio::task::spawn_blocking(move || {
            let session = match pool.take_session() {
                Ok(session) => session,
                Err(err) => return Err(pool.failed(err)),
            };
            // A session that lost its login sees no private objects, which looks like a missing
            // key: check, so it is treated as the outage it is.
            let outcome = match context::with_overlap(overlap, || call(&session)) {
                Err(Error::Internal(_)) if ensure_logged_in(&session).is_err() => {
                    Err(Error::Unavailable("the HSM session lost its login".to_owned()))
                }
                other => other,
            };
            match &outcome {
                // The session may be broken, and so may its siblings (an HSM restart or a lost
                // login ends them all): drop them and open fresh ones from the next call on.
                Err(Error::Unavailable(_)) => {
                    drop(session);
                    if let Ok(mut idle) = pool.idle.lock() {
                        idle.clear();
                    }
                    pool.note_failure();
                }
                _ => pool.give_back(session),
            }
            outcome
        });
        let outcome = match tokio::time::timeout_at(deadline, task).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(join)) => Err(Error::Internal(format!("HSM call {what} panicked: {join}"))),
            // The blocking thread finishes (or not) on its own; the request does not wait for it.
            Err(_) => Err(self.failed(timeout_error(what, self.call_timeout))),
        };
        drop(permit);
        outcome
    }

    /// Closes every pooled session and logs the application out (shutdown).
    pub(crate) fn close(&self) {
        let sessions = self.idle.lock().map(|mut idle| std::mem::take(&mut *idle)).unwrap_or_default();
        if let Some(first) = sessions.first() {
            // Already logged out is fine: closing is best effort.
            let _ = first.logout();
        }
        drop(sessions);
    }

    /// `Some(when)` if a call failed for want of the HSM within the last little while.
    pub(crate) fn recently_failed(&self) -> bool {
        self.last_failure.lock().ok().and_then(|at| *at).is_some_and(|at| at.elapsed() < DEGRADED_FOR)
    }

    fn failed(&self, err: Error) -> Error {
        self.note_failure();
        err
    }

    fn note_failure(&self) {
        if let Ok(mut at) = self.last_failure.lock() {
            *at = Some(Instant::now());
        }
    }

    fn take_session(&self) -> Result<Session> {
        let idle = self.idle.lock().map_err(|_| poisoned())?.pop();
        match idle {
            Some(session) => Ok(session),
            None => self.open_session(),
        }
    }

    fn give_back(&self, session: Session) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < self.size
        {
            idle.push(session);
        }
    }

    fn open_session(&self) -> Result<Session> {
        let slot = self.find_slot()?;
        let session = self.context.open_rw_session(slot).map_err(|err| hsm_error("open a session", &err))?;
        let pin = AuthPin::new(self.pin.as_str().into());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
            Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinInvalid | RvError::PinLenRange, _)) => {
                Err(Error::Unavailable(format!("the PIN for HSM token {:?} was refused", self.token_label)))
            }
            Err(CkError::Pkcs11(RvError::PinLocked, _)) => {
                Err(Error::Unavailable(format!("the PIN for HSM token {:?} is locked", self.token_label)))
            }
            Err(err) => Err(hsm_error("log in", &err)),
        }
    }

    /// Looks for the token for up to [`TOKEN_SEARCH`] before giving up: a file-backed token
    /// (SoftHSM2) can be unreadable for a moment while another process (a second node,
    /// `oneclaw keys`) rewrites it, and that must not stop a start-up.
    fn await_token(&self) -> Result<()> {
        let deadline = Instant::now() + TOKEN_SEARCH;
        loop {
            match self.find_slot() {
                Ok(_) => return Ok(()),
                Err(err) if Instant::now() >= deadline => return Err(err),
                Err(err) => {
                    tracing::warn!(error = %err, "HSM token not found yet; looking again");
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        }
    }

    fn find_slot(&self) -> Result<Slot> {
        let slots = self.context.get_slots_with_token().map_err(|err| hsm_error("list slots", &err))?;
        for slot in slots {
            let Ok(info) = self.context.get_token_info(slot) else { continue };
            if info.label().trim_end() == self.token_label {
                return Ok(slot);
            }
        }
        Err(Error::Unavailable(format!("no HSM token is labelled {:?}", self.token_label)))
    }
}

fn ensure_logged_in(session: &Session) -> Result<()> {
    let info = session.get_session_info().map_err(|err| hsm_error("check a session", &err))?;
    match info.session_state() {
        SessionState::RoUser | SessionState::RwUser => Ok(()),
        _ => Err(Error::Unavailable("the HSM session lost its login".to_owned())),
    }
}

fn poisoned() -> Error {
    Error::Internal("HSM session pool lock poisoned".to_owned())
}

fn timeout_error(what: &str, limit: Duration) -> Error {
    Error::Unavailable(format!("the HSM did not answer within {} ms ({what})", limit.as_millis()))
}

/// Maps a PKCS#11 failure. Device, token and session trouble is `Unavailable` (503, and the
/// session is replaced); anything else is a fault of ours or of the key, and is `Internal`.
pub(crate) fn hsm_error(what: &str, err: &CkError) -> Error {
    match err {
        CkError::Pkcs11(rv, _) if is_outage(*rv) => {
            Error::Unavailable(format!("the HSM is unavailable ({what}: {rv:?})"))
        }
        CkError::Pkcs11(rv, function) => Error::Internal(format!("HSM refused {what}: {function:?} returned {rv:?}")),
        other => Error::Internal(format!("HSM call failed ({what}): {other}")),
    }
}

fn is_outage(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::DeviceError
            | RvError::DeviceMemory
            | RvError::DeviceRemoved
            | RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::SessionClosed
            | RvError::SessionHandleInvalid
            | RvError::SessionCount
            | RvError::UserNotLoggedIn
            | RvError::CryptokiNotInitialized
            | RvError::HostMemory
            | RvError::SlotIdInvalid
    )
}
