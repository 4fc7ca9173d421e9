//! # kie-tilt
//!
//! The `tilt` KIE backend — Arctic-TILT in process ([`tilt_infer::TiltEngine`]), one question
//! per wanted field — and [`TiltArgs`], the one set of TILT settings (`TILT_MODEL`,
//! `TILT_DEVICE`, …) that both `ocrlty` (with its `tilt` feature) and `tilt-server` read.
//!
//! This is the only way the service reaches libtorch: the `ocrlty` binary links it only when
//! built with `--features tilt`.

mod backend;
mod settings;

pub use backend::TiltBackend;
pub use settings::{SettingsError, TiltArgs, TiltSettings, read_questions};
pub use tilt_infer::cuda_device_count;

/// Tiny random model directories for tests of code built on this crate.
pub mod testing {
    pub use tilt_infer::TiltConfig;
    pub use tilt_infer::testing::write_random_model;
}
