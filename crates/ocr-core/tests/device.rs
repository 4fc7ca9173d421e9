//! Device choice as the seeds make it: `auto` runs where it can (CUDA when built in and
//! starting, else the CPU), an explicit `cuda` that cannot start is an error, never a silent
//! CPU run.

mod common;

use ocr_core::{Device, ModelPreset, OcrConfig, OcrEngine};

fn config(device: Device) -> OcrConfig {
    let mut cfg = OcrConfig::with_models(ModelPreset::V6.files(&common::model_dir()));
    cfg.intra_threads = 1;
    cfg.device = device;
    cfg
}

#[test]
fn devices_parse_by_name() {
    assert_eq!("auto".parse::<Device>(), Ok(Device::Auto));
    assert_eq!("CPU".parse::<Device>(), Ok(Device::Cpu));
    assert_eq!("cuda".parse::<Device>(), Ok(Device::Cuda));
    assert!("tpu".parse::<Device>().is_err());
}

#[test]
fn auto_runs_on_what_this_machine_has_and_cuda_is_never_faked() {
    let auto = OcrEngine::new(config(Device::Auto)).expect("auto always starts");
    let provider = auto.info().execution_provider;
    if Device::cuda_built() {
        // With CUDA built in, auto took CUDA exactly when an explicit cuda starts too.
        match OcrEngine::new(config(Device::Cuda)) {
            Ok(_) => assert_eq!(provider, "CUDAExecutionProvider"),
            Err(_) => assert_eq!(provider, "CPUExecutionProvider"),
        }
    } else {
        assert_eq!(provider, "CPUExecutionProvider");
        match OcrEngine::new(config(Device::Cuda)) {
            Ok(_) => panic!("cuda without CUDA support must be an error"),
            Err(err) => assert!(err.to_string().contains("CUDA"), "{err}"),
        }
    }
}
