//! How the binaries and tests of the crates on libtorch are linked (tilt-infer, kie-tilt and
//! tilt-server share this file): an rpath to `$LIBTORCH/lib`, so that they find libtorch_cpu.so
//! without LD_LIBRARY_PATH; and, for a CUDA libtorch (`scripts/setup cuda`), libtorch_cuda.so
//! kept as a dependency. Nothing calls into it directly, so `--as-needed` would drop it, and
//! libtorch would then report no CUDA device on a machine that has one.
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(dir) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}/lib");
        if Path::new(&dir).join("lib/libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed,-ltorch_cuda,--as-needed");
        }
    }
}
