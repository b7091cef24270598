//! A fixed set of sessions for one model: `Session::run` takes `&mut self`, so
//! each concurrent caller checks one out and gives it back when done.

use parking_lot::{Condvar, Mutex};

use ort::session::Session;

/// Sessions of one model; a caller waits when all are in use.
pub(crate) struct SessionPool {
    idle: Mutex<Vec<Session>>,
    returned: Condvar,
    size: usize,
}

impl SessionPool {
    pub(crate) fn new(sessions: Vec<Session>) -> Self {
        Self {
            size: sessions.len(),
            idle: Mutex::new(sessions),
            returned: Condvar::new(),
        }
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Takes an idle session, waiting for one if all are in use.
    pub(crate) fn checkout(&self) -> PooledSession<'_> {
        let mut idle = self.idle.lock();
        loop {
            if let Some(session) = idle.pop() {
                return PooledSession {
                    pool: self,
                    session: Some(session),
                };
            }
            self.returned.wait(&mut idle);
        }
    }

    /// A session for inspection (inputs/outputs); the pool is never empty when
    /// nobody holds a session, as at load time.
    pub(crate) fn with_any<T>(&self, f: impl FnOnce(&Session) -> T) -> T {
        let s = self.checkout();
        f(s.session.as_ref().expect("checked-out session"))
    }
}

/// A checked-out session, returned to its pool on drop.
pub(crate) struct PooledSession<'p> {
    pool: &'p SessionPool,
    session: Option<Session>,
}

impl std::ops::Deref for PooledSession<'_> {
    type Target = Session;
    fn deref(&self) -> &Session {
        self.session.as_ref().expect("checked-out session")
    }
}

impl std::ops::DerefMut for PooledSession<'_> {
    fn deref_mut(&mut self) -> &mut Session {
        self.session.as_mut().expect("checked-out session")
    }
}

impl Drop for PooledSession<'_> {
    fn drop(&mut self) {
        if let Some(s) = self.session.take() {
            self.pool.idle.lock().push(s);
            self.pool.returned.notify_one();
        }
    }
}
