//! One initialised PKCS#11 library per module path and process: a second `C_Initialize` in the
//! same process fails, and every provider, pool and test in the process shares the first.

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use oneclaw_core::{Error, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, RwLock};

static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();

/// The process's context for `module`, loading and initialising the library on first use.
pub(crate) fn shared(module: &Path) -> Result<Pkcs11> {
    let contexts = CONTEXTS.get_or_init(|| Mutex::new(HashMap::new()));
    let mut contexts = contexts.lock().map_err(|_| Error::Internal("PKCS#11 context lock poisoned".to_owned()))?;
    if let Some(context) = contexts.get(module) {
        return Ok(context.clone());
    }
    let context = Pkcs11::new(module)
        .map_err(|err| Error::Unavailable(format!("cannot load the PKCS#11 module {}: {err}", module.display())))?;
    context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)).map_err(|err| {
        Error::Unavailable(format!("cannot initialise the PKCS#11 module {}: {err}", module.display()))
    })?;
    contexts.insert(module.to_owned(), context.clone());
    Ok(context)
}

static OBJECT_CHANGES: RwLock<()> = RwLock::new(());

/// How a call may overlap others in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Overlap {
    /// Uses objects (find, encrypt, decrypt): runs alongside other such calls.
    Shared,
    /// Creates or destroys objects (a KEK, the session object key wrap needs): runs alone.
    /// SoftHSM2 fails object creation that overlaps other calls (CKR_GENERAL_ERROR or
    /// CKR_TEMPLATE_INCONSISTENT; softhsm/SoftHSMv2#573); such calls are rare here, and the
    /// default AES-GCM wraps and unwraps stay parallel.
    Exclusive,
}

/// Runs `call` under the process's object lock.
pub(crate) fn with_overlap<T>(overlap: Overlap, call: impl FnOnce() -> Result<T>) -> Result<T> {
    match overlap {
        Overlap::Shared => {
            let _guard = OBJECT_CHANGES.read().map_err(|_| poisoned())?;
            call()
        }
        Overlap::Exclusive => {
            let _guard = OBJECT_CHANGES.write().map_err(|_| poisoned())?;
            call()
        }
    }
}

fn poisoned() -> Error {
    Error::Internal("PKCS#11 object lock poisoned".to_owned())
}
