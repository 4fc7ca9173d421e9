//! The deployment files checked against the code (no container engine runs here): the
//! Dockerfile builds with the recipe CI runs, the compose files and Kubernetes manifests name
//! settings that exist, run the subcommands that exist, and probe routes and ports the server
//! has.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use clap::{Args, Command};
use ocrlty::config::WorkerArgs;
use utoipa::OpenApi;
use yaml_rust2::{Yaml, YamlLoader};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Vec<Yaml> {
    YamlLoader::load_from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// `serve`'s and `worker`'s flags (every setting, with its environment variable and default).
fn worker_command() -> Command {
    WorkerArgs::augment_args(Command::new("worker"))
}

fn default_of(flag: &str) -> String {
    let cmd = worker_command();
    let arg = cmd
        .get_arguments()
        .find(|a| a.get_long() == Some(flag))
        .unwrap_or_else(|| panic!("no --{flag}"));
    arg.get_default_values()[0]
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// Every environment variable the binary or the entrypoint reads.
fn known_env() -> HashSet<String> {
    let mut known: HashSet<String> = worker_command()
        .get_arguments()
        .filter_map(|a| a.get_env())
        .map(|e| e.to_string_lossy().into_owned())
        .collect();
    known.extend(["RUST_LOG", "LOG_FORMAT"].map(String::from));
    let script = read("docker/entrypoint.sh");
    for part in script.split("${").skip(1) {
        let name: String = part
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if !name.is_empty() {
            known.insert(name);
        }
    }
    known
}

fn routes() -> HashSet<String> {
    ocrlty::server::ApiDoc::openapi()
        .paths
        .paths
        .keys()
        .cloned()
        .collect()
}

fn str_of<'a>(y: &'a Yaml, key: &str) -> Option<&'a str> {
    y[key].as_str()
}

#[test]
fn the_image_is_built_by_the_recipe_ci_runs() {
    let dockerfile = read("docker/Dockerfile");
    let test = read("scripts/test");
    let build = read("scripts/build");
    assert!(
        dockerfile.contains("RUN scripts/build --release"),
        "the image builds with scripts/build"
    );
    assert!(
        test.lines().any(|l| l.trim() == "scripts/build"),
        "scripts/test runs the same scripts/build"
    );
    assert!(build.contains("scripts/setup\" onnxruntime pdfium models"));
    assert!(build.contains("cargo build \"${flags[@]}\" --locked -p ocrlty"));
    for piece in ["onnxruntime", "pdfium", "models"] {
        assert!(
            dockerfile.contains(&format!("COPY --from=build /src/.deps/{piece} ")),
            "the image ships the {piece} that scripts/setup fetched"
        );
    }
    let expose = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("EXPOSE");
    assert_eq!(
        expose.split_whitespace().collect::<Vec<_>>(),
        [default_of("port"), default_of("health-port")],
        "the image exposes the API's and the worker's default ports"
    );
    assert!(dockerfile.contains(r#"CMD ["ocrlty-entrypoint", "healthcheck"]"#));
    assert!(dockerfile.contains("COPY docker/entrypoint.sh /usr/local/bin/ocrlty-entrypoint"));
    assert!(dockerfile.contains("USER 10001"), "not root");
}

/// The names an image's `ENV` instructions set (continuation lines included).
fn env_names(dockerfile: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_env = false;
    for line in dockerfile.lines() {
        let t = line.trim();
        let body = if let Some(rest) = t.strip_prefix("ENV ") {
            rest
        } else if in_env {
            t
        } else {
            continue;
        };
        in_env = body.ends_with('\\');
        for pair in body.trim_end_matches('\\').split_whitespace() {
            if let Some((k, _)) = pair.split_once('=') {
                names.push(k.to_string());
            }
        }
    }
    names
}

/// What an image's ENV may set beyond the service's own settings: where the native libraries
/// are (read by ocr-core, doc-input and the dynamic loader) and the NVIDIA container toolkit's
/// two switches.
const IMAGE_ENV: [&str; 6] = [
    "LD_LIBRARY_PATH",
    "OCRLTY_DEPS",
    "ORT_DYLIB_PATH",
    "PDFIUM_LIB_DIR",
    "NVIDIA_VISIBLE_DEVICES",
    "NVIDIA_DRIVER_CAPABILITIES",
];

#[test]
fn the_images_set_only_settings_that_exist() {
    let known = known_env();
    for file in ["docker/Dockerfile", "docker/Dockerfile.gpu"] {
        let names = env_names(&read(file));
        assert!(names.len() >= 5, "{file}: {names:?}");
        for k in names {
            assert!(
                known.contains(&k) || IMAGE_ENV.contains(&k.as_str()),
                "{file} sets unknown {k}"
            );
        }
    }
}

#[test]
fn the_gpu_image_is_built_by_the_gpu_recipe() {
    let dockerfile = read("docker/Dockerfile.gpu");
    let build = read("scripts/build");
    assert!(
        dockerfile.contains("RUN scripts/build --release --gpu"),
        "the GPU image builds with scripts/build --gpu"
    );
    assert!(build.contains("scripts/setup\" pdfium models cuda"));
    assert!(build.contains(". \"$ROOT/.deps/cuda/env.sh\""));
    assert!(build.contains("--features ocrlty/tilt,ocrlty/cuda"));
    assert!(build.contains("export CARGO_TARGET_DIR=\"$ROOT/target/gpu\""));
    for copied in [
        "/src/target/gpu/release/ocrlty ",
        "/src/target/gpu/release/tilt-server ",
        "/src/.deps/cuda/lib ",
        "/src/.deps/pdfium ",
        "/src/.deps/models ",
    ] {
        assert!(dockerfile.contains(copied), "the GPU image ships {copied}");
    }
    // The ONNX Runtime it loads is the one with the CUDA provider, on the loader's path with
    // the CUDA libraries the provider needs.
    assert!(dockerfile.contains("ORT_DYLIB_PATH=/opt/ocrlty/cuda/lib/libonnxruntime.so.1"));
    assert!(dockerfile.contains("LD_LIBRARY_PATH=/opt/ocrlty/cuda/lib"));
    let expose = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("EXPOSE "))
        .expect("EXPOSE");
    assert_eq!(expose.trim(), default_of("port"), "the API's port");
    assert!(dockerfile.contains(r#"CMD ["ocrlty-entrypoint", "healthcheck"]"#));
    assert!(dockerfile.contains("COPY docker/entrypoint.sh /usr/local/bin/ocrlty-entrypoint"));
    assert!(dockerfile.contains("USER 10001"), "not root");
}

#[test]
fn compose_files_use_real_settings_commands_and_ports() {
    let known = known_env();
    for file in ["docker/compose.dev.yml", "docker/compose.yml"] {
        let doc = &yaml(file)[0];
        let services = doc["services"].as_hash().expect("services");
        let mut ours = 0;
        for (name, svc) in services {
            let name = name.as_str().expect("name");
            let image = str_of(svc, "image").unwrap_or_default();
            if !image.starts_with("ocrlty") {
                continue;
            }
            ours += 1;
            if let Some(env) = svc["environment"].as_hash() {
                for k in env.keys() {
                    let k = k.as_str().expect("key");
                    assert!(known.contains(k), "{file}: {name} sets unknown {k}");
                }
            }
            let command: Vec<&str> = svc["command"]
                .as_vec()
                .map(|v| v.iter().filter_map(Yaml::as_str).collect())
                .unwrap_or_default();
            let entrypoint: Vec<&str> = svc["entrypoint"]
                .as_vec()
                .map(|v| v.iter().filter_map(Yaml::as_str).collect())
                .unwrap_or_default();
            match (command.first(), entrypoint.first()) {
                (_, Some(&"mock-vllm")) => {}
                (Some(&"serve"), None) => {
                    let ports: Vec<&str> = svc["ports"]
                        .as_vec()
                        .map(|v| v.iter().filter_map(Yaml::as_str).collect())
                        .unwrap_or_default();
                    assert!(
                        ports
                            .iter()
                            .any(|p| p.ends_with(&format!(":{}", default_of("port")))),
                        "{file}: {name} publishes the API port"
                    );
                }
                (Some(&"worker"), None) => {}
                other => panic!("{file}: {name} runs {other:?}"),
            }
            if let Some(test) = svc["healthcheck"]["test"].as_vec() {
                let test: Vec<&str> = test.iter().filter_map(Yaml::as_str).collect();
                assert_eq!(
                    test,
                    ["CMD", "ocrlty-entrypoint", "healthcheck"],
                    "{file}: {name}"
                );
            }
        }
        assert!(ours >= 2, "{file}: the ocrlty services");
    }
}

#[test]
fn kubernetes_probes_hit_routes_and_ports_the_server_has() {
    let known = known_env();
    let routes = routes();
    let dir = root().join("deploy/kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    let mut roles = HashSet::new();
    for path in &files {
        let rel = path
            .strip_prefix(root())
            .unwrap_or(Path::new("?"))
            .display()
            .to_string();
        for doc in yaml(&rel) {
            match str_of(&doc, "kind") {
                Some("ConfigMap") => {
                    for k in doc["data"].as_hash().expect("data").keys() {
                        let k = k.as_str().expect("key");
                        assert!(known.contains(k), "{rel}: unknown setting {k}");
                    }
                }
                Some("Deployment") => {
                    let containers = doc["spec"]["template"]["spec"]["containers"]
                        .as_vec()
                        .expect("containers");
                    for c in containers {
                        let role = c["args"][0].as_str().expect("args");
                        roles.insert(role.to_string());
                        let port: i64 = match role {
                            "serve" => default_of("port").parse().expect("port"),
                            "worker" => default_of("health-port").parse().expect("port"),
                            other => panic!("{rel}: runs {other}"),
                        };
                        let declared: Vec<i64> = c["ports"]
                            .as_vec()
                            .expect("ports")
                            .iter()
                            .filter_map(|p| p["containerPort"].as_i64())
                            .collect();
                        assert_eq!(declared, [port], "{rel}: {role}'s port");
                        for (probe, want) in
                            [("livenessProbe", "/livez"), ("readinessProbe", "/readyz")]
                        {
                            let get = &c[probe]["httpGet"];
                            let path = get["path"].as_str().expect("path");
                            assert_eq!(path, want, "{rel}: {role} {probe}");
                            assert!(routes.contains(path), "{path} is a route");
                            assert_eq!(get["port"].as_i64(), Some(port), "{rel}: {role} {probe}");
                        }
                        if let Some(env) = c["env"].as_vec() {
                            for e in env {
                                let k = e["name"].as_str().expect("name");
                                assert!(known.contains(k), "{rel}: unknown setting {k}");
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    assert_eq!(
        roles,
        HashSet::from(["serve".to_string(), "worker".to_string()]),
        "an API and a worker Deployment"
    );
}
