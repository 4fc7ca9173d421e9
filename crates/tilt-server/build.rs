//! Links the binaries and tests of this crate with an rpath to `$LIBTORCH/lib`, so that they
//! find libtorch_cpu.so without LD_LIBRARY_PATH.
fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    if let Ok(dir) = std::env::var("LIBTORCH") {
        println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}/lib");
    }
}
