//! Device-flow login codes (`oneclaw login`): a CLI waits on one while its human approves it.

use super::*;
use crate::model::{DeviceCode, DeviceStatus};

#[async_trait]
pub trait DeviceStore: Send + Sync {
    async fn device_code_by_digest(&self, digest: &[u8]) -> Result<Option<DeviceCode>>;
    async fn device_code_by_user_code(&self, user_code: &str) -> Result<Option<DeviceCode>>;
}

#[async_trait]
pub trait DeviceTx: Send {
    async fn insert_device_code(&mut self, code: &DeviceCode) -> Result<()>;
    /// Moves a pending, unexpired code to `status` (approved or denied, by `user`); false when
    /// it was not pending any more.
    async fn decide_device_code(
        &mut self,
        user_code: &str,
        status: DeviceStatus,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<bool>;
    /// Moves an approved, unexpired code to used; false when another poll got it first.
    async fn use_device_code(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<bool>;
    async fn touch_device_code(&mut self, digest: &[u8], now: OffsetDateTime) -> Result<()>;
}
