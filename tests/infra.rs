#![allow(clippy::unwrap_used)] // reason: in a test a failed unwrap is the failure message
//! Structural checks of the deployment files: they parse, and what one file names exists in
//! the others (no Docker engine or cluster runs here, so this is what can be proven offline).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn load(path: &str) -> Vec<Yaml> {
    let text = std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{path} is not YAML: {e}"))
}

fn str_of<'a>(y: &'a Yaml, path: &[&str]) -> &'a str {
    let mut cur = y;
    for key in path {
        cur = &cur[*key];
    }
    cur.as_str()
        .unwrap_or_else(|| panic!("{path:?} is not a string in {y:?}"))
}

fn strings(y: &Yaml) -> Vec<String> {
    y.as_vec()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn compose_runs_two_http_nodes_and_two_workers_on_shared_postgres_and_minio() {
    let doc = &load("infra/compose.yaml")[0];
    let services = &doc["services"];
    for name in [
        "postgres",
        "minio",
        "minio-init",
        "migrate",
        "web",
        "worker",
        "nginx",
    ] {
        assert!(!services[name].is_badvalue(), "service {name} is missing");
    }
    assert_eq!(
        strings(&services["web"]["command"]),
        ["serve", "--roles", "web,upload"]
    );
    assert_eq!(strings(&services["worker"]["command"]), ["worker"]);
    assert_eq!(services["web"]["deploy"]["replicas"].as_i64(), Some(2));
    assert_eq!(services["worker"]["deploy"]["replicas"].as_i64(), Some(2));
    for name in ["migrate", "web", "worker"] {
        let env = &services[name]["environment"];
        for key in [
            "DATABASE_URL",
            "S3_ENDPOINT",
            "S3_BUCKET",
            "S3_ACCESS_KEY_ID",
            "S3_SECRET_ACCESS_KEY",
        ] {
            assert!(env[key].as_str().is_some(), "{name} lacks {key}");
        }
        assert!(
            str_of(env, &["DATABASE_URL"]).contains("@postgres:5432/"),
            "{name} uses the compose PostgreSQL"
        );
        assert_eq!(str_of(env, &["S3_ENDPOINT"]), "http://minio:9000");
    }
    let mounted = strings(&services["nginx"]["volumes"]);
    let conf = mounted[0]
        .split(':')
        .next()
        .unwrap()
        .trim_start_matches("./");
    assert!(
        repo().join("infra").join(conf).is_file(),
        "nginx config {conf} exists"
    );
}

#[test]
fn nginx_streams_uploads_and_does_not_buffer_live_updates() {
    let conf = std::fs::read_to_string(repo().join("infra/nginx/hoithi.conf")).unwrap();
    let block = |start: &str| {
        let i = conf
            .find(start)
            .unwrap_or_else(|| panic!("no `{start}` block"));
        conf[i..i + conf[i..].find('}').unwrap()].to_owned()
    };
    let uploads = block("location /api/v1/uploads");
    assert!(
        uploads.contains("proxy_request_buffering off") && uploads.contains("client_max_body_size")
    );
    let events = block("location ~ ^/api/v1/contests/[^/]+/events$");
    assert!(events.contains("proxy_buffering off") && events.contains("proxy_read_timeout 1h"));
    assert!(block("location /media/").contains("proxy_cache media"));
}

#[test]
fn kubernetes_base_resources_exist_and_reference_each_other() {
    let kustomization = &load("infra/k8s/base/kustomization.yaml")[0];
    let mut docs = Vec::new();
    for file in strings(&kustomization["resources"]) {
        docs.extend(load(&format!("infra/k8s/base/{file}")));
    }
    let of_kind = |kind: &str| -> Vec<&Yaml> {
        docs.iter()
            .filter(|d| d["kind"].as_str() == Some(kind))
            .collect()
    };

    let deployments = of_kind("Deployment");
    let names: Vec<&str> = deployments
        .iter()
        .map(|d| str_of(d, &["metadata", "name"]))
        .collect();
    assert_eq!(names, ["hoithi-web", "hoithi-worker"]);
    for d in &deployments {
        let labels = &d["spec"]["template"]["metadata"]["labels"];
        assert_eq!(
            d["spec"]["selector"]["matchLabels"], *labels,
            "selector matches the pod labels"
        );
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(str_of(c, &["readinessProbe", "httpGet", "path"]), "/readyz");
        assert_eq!(str_of(c, &["livenessProbe", "httpGet", "path"]), "/healthz");
        assert!(
            c["resources"]["requests"]["cpu"].as_str().is_some(),
            "cpu request"
        );
        assert!(
            c["resources"]["limits"]["memory"].as_str().is_some(),
            "memory limit"
        );
        assert!(
            d["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
                .as_i64()
                .unwrap()
                >= 30
        );
        let env_from: Vec<&str> = c["envFrom"]
            .as_vec()
            .unwrap()
            .iter()
            .map(|e| {
                e["configMapRef"]["name"]
                    .as_str()
                    .or(e["secretRef"]["name"].as_str())
                    .unwrap()
            })
            .collect();
        assert!(env_from.contains(&"hoithi-config") && env_from.contains(&"hoithi-secrets"));
    }
    assert_eq!(
        strings(&deployments[0]["spec"]["template"]["spec"]["containers"][0]["args"]),
        ["serve", "--roles", "web,upload"]
    );
    assert_eq!(
        strings(&deployments[1]["spec"]["template"]["spec"]["containers"][0]["args"]),
        ["worker"]
    );

    for hpa in of_kind("HorizontalPodAutoscaler") {
        let target = str_of(hpa, &["spec", "scaleTargetRef", "name"]);
        assert!(names.contains(&target), "HPA targets {target}");
    }
    // Workers scale on the queue depth that /metrics exports under that name.
    let worker_hpa = of_kind("HorizontalPodAutoscaler")
        .into_iter()
        .find(|h| str_of(h, &["metadata", "name"]) == "hoithi-worker")
        .expect("an HPA for workers");
    let metric = str_of(
        &worker_hpa["spec"]["metrics"][0],
        &["external", "metric", "name"],
    );
    assert_eq!(metric, "hoithi_jobs_queued");
    let labels = hoithi_core::metrics::KindLabels {
        kind: "process-media".into(),
    };
    hoithi_core::metrics::METRICS
        .jobs_queued
        .get_or_create(&labels)
        .set(4);
    let exported = hoithi_core::metrics::encode();
    assert!(
        exported.contains(r#"hoithi_jobs_queued{kind="process-media"} 4"#),
        "{exported}"
    );
    assert!(
        exported.contains("# TYPE hoithi_jobs_queued gauge"),
        "{exported}"
    );

    for pdb in of_kind("PodDisruptionBudget") {
        let selector = &pdb["spec"]["selector"]["matchLabels"];
        assert!(
            deployments
                .iter()
                .any(|d| d["spec"]["template"]["metadata"]["labels"] == *selector),
            "PDB {} selects a deployment's pods",
            str_of(pdb, &["metadata", "name"])
        );
    }
    let service = of_kind("Service")[0];
    assert_eq!(
        service["spec"]["selector"],
        deployments[0]["spec"]["template"]["metadata"]["labels"]
    );
    let ingress = of_kind("Ingress")[0];
    let backend = &ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"];
    assert_eq!(
        str_of(backend, &["name"]),
        str_of(service, &["metadata", "name"])
    );
    assert_eq!(
        str_of(
            &ingress["metadata"]["annotations"],
            &["nginx.ingress.kubernetes.io/proxy-request-buffering"]
        ),
        "off"
    );
    assert_eq!(of_kind("Cluster").len(), 1, "a CloudNativePG cluster");
    assert_eq!(
        str_of(of_kind("Cluster")[0], &["apiVersion"]),
        "postgresql.cnpg.io/v1"
    );
}

/// The port of the operators' listener in the shipped deployments.
const METRICS_PORT: &str = "9464";

#[test]
fn metrics_are_scraped_from_their_own_port_which_no_proxy_service_or_ingress_carries() {
    // nginx proxies only to the site's port and answers 404 for /metrics itself.
    let conf = std::fs::read_to_string(repo().join("infra/nginx/hoithi.conf")).unwrap();
    assert!(
        !conf
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .any(|l| l.contains(METRICS_PORT)),
        "nginx never reaches the metrics port"
    );
    let i = conf
        .find("location = /metrics")
        .expect("a /metrics block in nginx");
    let block = &conf[i..i + conf[i..].find('}').unwrap()];
    assert!(block.contains("return 404"), "{block}");

    // compose: every node listens for metrics on the compose network; nothing publishes it.
    let doc = &load("infra/compose.yaml")[0];
    let services = doc["services"].as_hash().unwrap();
    for name in ["web", "worker"] {
        let env = &doc["services"][name]["environment"];
        assert_eq!(
            str_of(env, &["HOITHI_METRICS_LISTEN"]),
            format!("0.0.0.0:{METRICS_PORT}"),
            "{name}"
        );
    }
    for (name, service) in services {
        for port in strings(&service["ports"]) {
            assert!(
                !port.contains(METRICS_PORT),
                "{name:?} publishes the metrics port: {port}"
            );
        }
    }
    // …and the monitoring profile's Prometheus scrapes exactly that port.
    let prometheus = &doc["services"]["prometheus"];
    let mounted = strings(&prometheus["volumes"]);
    let file = mounted[0]
        .split(':')
        .next()
        .unwrap()
        .trim_start_matches("./");
    let scrape = &load(&format!("infra/{file}"))[0];
    let jobs = scrape["scrape_configs"].as_vec().unwrap();
    assert!(!jobs.is_empty());
    for job in jobs {
        for sd in job["dns_sd_configs"].as_vec().unwrap() {
            assert_eq!(sd["port"].as_i64(), Some(9464), "{job:?}");
        }
    }

    // The image listens for metrics on every interface but does not expose the port.
    let dockerfile = std::fs::read_to_string(repo().join("infra/Dockerfile")).unwrap();
    assert!(dockerfile.contains(&format!("HOITHI_METRICS_LISTEN=0.0.0.0:{METRICS_PORT}")));
    assert!(
        !dockerfile
            .lines()
            .any(|l| l.starts_with("EXPOSE") && l.contains(METRICS_PORT))
    );

    // Kubernetes: pods are scraped on the metrics port they declare; the Service (and so the
    // Ingress) carries only the site's port.
    let base = &load("infra/k8s/base/kustomization.yaml")[0];
    let mut docs = Vec::new();
    for file in strings(&base["resources"]) {
        docs.extend(load(&format!("infra/k8s/base/{file}")));
    }
    let of_kind = |kind: &str| -> Vec<&Yaml> {
        docs.iter()
            .filter(|d| d["kind"].as_str() == Some(kind))
            .collect()
    };
    let config = of_kind("ConfigMap")[0];
    assert_eq!(
        str_of(config, &["data", "HOITHI_METRICS_LISTEN"]),
        format!("0.0.0.0:{METRICS_PORT}")
    );
    for d in of_kind("Deployment") {
        let annotations = &d["spec"]["template"]["metadata"]["annotations"];
        assert_eq!(str_of(annotations, &["prometheus.io/port"]), METRICS_PORT);
        assert_eq!(str_of(annotations, &["prometheus.io/path"]), "/metrics");
        let ports = d["spec"]["template"]["spec"]["containers"][0]["ports"]
            .as_vec()
            .unwrap();
        assert!(
            ports.iter().any(|p| p["name"].as_str() == Some("metrics")
                && p["containerPort"].as_i64() == Some(9464)),
            "{ports:?}"
        );
    }
    for service in of_kind("Service") {
        for port in service["spec"]["ports"].as_vec().unwrap() {
            assert_ne!(port["targetPort"].as_str(), Some("metrics"), "{port:?}");
            assert_ne!(port["targetPort"].as_i64(), Some(9464), "{port:?}");
            assert_ne!(port["port"].as_i64(), Some(9464), "{port:?}");
        }
    }
    for ingress in of_kind("Ingress") {
        for rule in ingress["spec"]["rules"].as_vec().unwrap() {
            for path in rule["http"]["paths"].as_vec().unwrap() {
                let port = &path["backend"]["service"]["port"];
                assert_eq!(port["name"].as_str(), Some("http"), "{path:?}");
            }
        }
    }
}

#[test]
fn the_example_overlay_builds_on_the_base_and_patches_what_exists() {
    let overlay = &load("infra/k8s/overlays/example/kustomization.yaml")[0];
    assert_eq!(strings(&overlay["resources"]), ["../../base"]);
    let base = &load("infra/k8s/base/kustomization.yaml")[0];
    let mut names = Vec::new();
    for file in strings(&base["resources"]) {
        for doc in load(&format!("infra/k8s/base/{file}")) {
            names.push((
                str_of(&doc, &["kind"]).to_owned(),
                str_of(&doc, &["metadata", "name"]).to_owned(),
            ));
        }
    }
    for patch in overlay["patches"].as_vec().unwrap() {
        let target = (
            str_of(patch, &["target", "kind"]).to_owned(),
            str_of(patch, &["target", "name"]).to_owned(),
        );
        assert!(
            names.contains(&target),
            "the overlay patches {target:?}, which the base has"
        );
    }
    for r in overlay["replicas"].as_vec().unwrap() {
        assert!(names.contains(&("Deployment".to_owned(), str_of(r, &["name"]).to_owned())));
    }
}

/// Every metric family that `/metrics` exports, with one sample each, as (sample name →
/// label names); and the family names from the `# TYPE` lines.
fn exported_metrics() -> (
    std::collections::HashMap<String, std::collections::HashSet<String>>,
    Vec<String>,
) {
    use hoithi_core::metrics::{HttpLabels, JobLabels, KindLabels, METRICS, OutcomeLabels};
    let m = &*METRICS;
    let kind = KindLabels {
        kind: "process-media".into(),
    };
    m.http_requests
        .get_or_create(&HttpLabels {
            method: "GET".into(),
            route: "/".into(),
            status: 200,
        })
        .inc();
    m.http_seconds
        .get_or_create(&hoithi_core::metrics::RouteLabels {
            method: "GET".into(),
            route: "/".into(),
        })
        .observe(0.01);
    m.upload_bytes.inc_by(1);
    m.uploads_active.set(1);
    m.jobs_queued.get_or_create(&kind).set(1);
    m.jobs_running.get_or_create(&kind).set(1);
    m.jobs_oldest_queued_seconds.get_or_create(&kind).set(1.0);
    m.jobs_dead.get_or_create(&kind).set(1);
    m.jobs_finished
        .get_or_create(&JobLabels {
            kind: "process-media".into(),
            outcome: "done".into(),
        })
        .inc();
    m.transcode_seconds.get_or_create(&kind).observe(2.0);
    m.votes
        .get_or_create(&OutcomeLabels {
            outcome: "counted".into(),
        })
        .inc();
    m.sse_clients.set(1);

    let text = hoithi_core::metrics::encode();
    let mut samples: std::collections::HashMap<String, std::collections::HashSet<String>> =
        std::collections::HashMap::new();
    let mut families = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            families.push(rest.split_whitespace().next().unwrap().to_owned());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let name_end = line.find(['{', ' ']).unwrap();
        let labels = samples.entry(line[..name_end].to_owned()).or_default();
        if line[name_end..].starts_with('{') {
            let inner = &line[name_end + 1..line.find('}').unwrap()];
            for pair in inner.split(',') {
                labels.insert(pair.split('=').next().unwrap().to_owned());
            }
        }
    }
    (samples, families)
}

/// The identifiers of a PromQL expression that name hoithi metrics.
fn metric_names(expr: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = expr;
    while let Some(i) = rest.find("hoithi_") {
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        names.push(tail[..end].to_owned());
        rest = &tail[end..];
    }
    names
}

/// Label names an expression groups by (`by (a, b)`) or selects on (`{a="x"}`).
fn label_names(expr: &str) -> Vec<String> {
    let mut labels = Vec::new();
    for (open, close, marker) in [("by (", ')', "by ("), ("{", '}', "{")] {
        let mut rest = expr;
        while let Some(i) = rest.find(marker) {
            let tail = &rest[i + open.len()..];
            let end = tail.find(close).unwrap();
            for part in tail[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    labels.push(name);
                }
            }
            rest = &tail[end..];
        }
    }
    labels
}

#[test]
fn the_grafana_dashboard_queries_only_exported_metrics_and_shows_every_one() {
    let text = std::fs::read_to_string(repo().join("infra/grafana/hoithi.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let (samples, families) = exported_metrics();
    assert!(families.len() >= 12, "{families:?}");
    let panels = dashboard["panels"].as_array().expect("panels");
    let mut used = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for panel in panels {
        let title = panel["title"].as_str().expect("a title");
        assert!(ids.insert(panel["id"].as_i64().expect("an id")), "{title}");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title} queries nothing");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr");
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{title}: {expr} names no hoithi metric");
            // Prometheus adds the target's labels; histograms have `le`.
            let mut allowed: std::collections::HashSet<String> =
                ["instance", "job", "le"].map(str::to_owned).into();
            for name in &names {
                let labels = samples.get(name).unwrap_or_else(|| {
                    panic!("{title}: {name} is not exported by /metrics ({samples:?})")
                });
                allowed.extend(labels.iter().cloned());
                used.insert(name.clone());
            }
            for label in label_names(expr) {
                assert!(
                    allowed.contains(&label),
                    "{title}: label {label} is not on {names:?}"
                );
            }
        }
    }
    for family in &families {
        assert!(
            ["", "_total", "_bucket", "_sum", "_count"]
                .iter()
                .any(|suffix| used.contains(&format!("{family}{suffix}"))),
            "no panel shows {family}"
        );
    }
    let ops = std::fs::read_to_string(repo().join("docs/operations.md")).unwrap();
    assert!(ops.contains("infra/grafana/hoithi.json"));
}

/// The instructions of the Dockerfile's last stage (the image that runs), with `\`-continued
/// lines joined and comments dropped.
fn runtime_stage() -> Vec<String> {
    let text = std::fs::read_to_string(repo().join("infra/Dockerfile")).unwrap();
    let mut instructions = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(part) => {
                current.push_str(part);
                current.push(' ');
            }
            None => {
                current.push_str(line);
                instructions.push(std::mem::take(&mut current));
            }
        }
    }
    let last_from = instructions
        .iter()
        .rposition(|i| i.starts_with("FROM "))
        .expect("a FROM");
    instructions.split_off(last_from)
}

/// The exec-form command of a Dockerfile `HEALTHCHECK … CMD [..]`.
fn exec_form(instruction: &str) -> Vec<String> {
    let json = instruction
        .split_once("CMD ")
        .map(|(_, c)| c.trim())
        .unwrap_or_else(|| panic!("no CMD in {instruction:?}"));
    assert!(json.starts_with('['), "exec form, no shell: {instruction}");
    json.trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|a| a.trim().trim_matches('"').to_owned())
        .collect()
}

/// Runs an image command (`/usr/local/bin/hoithi …`) with this build's binary instead.
fn run_image_command(command: &[String], listen: &str) -> Output {
    assert_eq!(command[0], "/usr/local/bin/hoithi", "{command:?}");
    Command::new(common::BIN)
        .args(&command[1..])
        .env_clear()
        .env("HOITHI_LISTEN", listen)
        .output()
        .unwrap()
}

#[test]
fn the_image_has_the_postgresql_client_of_the_compose_server_for_backups() {
    let stage = runtime_stage();
    assert!(
        stage[0].contains("bookworm"),
        "packages are bookworm's: {}",
        stage[0]
    );
    // The compose PostgreSQL's major version: pg_dump must be at least as new as the server.
    let compose = &load("infra/compose.yaml")[0];
    let image = str_of(compose, &["services", "postgres", "image"]);
    let major = image
        .split_once(':')
        .and_then(|(_, tag)| tag.split(['-', '.']).next())
        .unwrap_or_else(|| panic!("no version in {image}"));
    let installs: Vec<&String> = stage
        .iter()
        .filter(|i| i.starts_with("RUN ") && i.contains("apt-get install"))
        .collect();
    let wanted = format!("postgresql-client-{major}");
    assert!(
        installs
            .iter()
            .any(|i| i.split_whitespace().any(|w| w == wanted)),
        "the runtime image installs {wanted} (for `hoithi backup`): {installs:?}"
    );
    // The binary ends up where the health check and compose call it.
    assert!(
        stage
            .iter()
            .any(|i| i.starts_with("COPY ") && i.ends_with(" /usr/local/bin/hoithi")),
        "{stage:?}"
    );
}

#[test]
fn the_build_context_leaves_out_build_output_local_data_and_git() {
    let text = std::fs::read_to_string(repo().join(".dockerignore"))
        .expect(".dockerignore at the repository root (the build context)");
    let patterns: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    for wanted in ["target", "data", ".git", "node_modules"] {
        assert!(
            patterns.iter().any(|p| p.trim_end_matches('/') == wanted
                || p.trim_end_matches('/') == format!("**/{wanted}")),
            "{wanted} is not excluded: {patterns:?}"
        );
    }
    // Nothing the build copies is excluded.
    for needed in ["Cargo.toml", "Cargo.lock", "services", "migrations", "web"] {
        assert!(
            !patterns.iter().any(|p| p.trim_end_matches('/') == needed),
            "{needed} is excluded but the Dockerfile copies it"
        );
    }
}

#[tokio::test]
async fn image_and_compose_health_checks_ask_readiness_and_fail_when_the_server_is_not_ready() {
    // What the image runs: HEALTHCHECK in exec form, calling the binary's readiness check.
    let stage = runtime_stage();
    let healthchecks: Vec<&String> = stage
        .iter()
        .filter(|i| i.starts_with("HEALTHCHECK"))
        .collect();
    assert_eq!(healthchecks.len(), 1, "{stage:?}");
    let command = exec_form(healthchecks[0]);
    assert_eq!(command, ["/usr/local/bin/hoithi", "healthcheck"]);
    let image_listen = stage
        .iter()
        .filter(|i| i.starts_with("ENV "))
        .flat_map(|i| i.split_whitespace())
        .find_map(|kv| kv.strip_prefix("HOITHI_LISTEN="))
        .expect("the image sets HOITHI_LISTEN");
    assert!(image_listen.starts_with("0.0.0.0:"), "{image_listen}");

    // Compose: every hoithi service that stays up checks readiness the same way, and no
    // check merely runs `--version`.
    let compose = &load("infra/compose.yaml")[0];
    for name in ["web", "worker"] {
        let test = strings(&compose["services"][name]["healthcheck"]["test"]);
        assert_eq!(
            test.first().map(String::as_str),
            Some("CMD"),
            "{name}: {test:?}"
        );
        assert_eq!(test[1..], command[..], "{name} checks readiness");
    }
    for (name, service) in compose["services"].as_hash().unwrap() {
        let test = strings(&service["healthcheck"]["test"]);
        assert!(
            !test.iter().any(|a| a == "--version"),
            "{name:?}: --version tests nothing"
        );
    }

    // Run it here: against a ready server (the image's 0.0.0.0 listen address with the
    // server's port: the check asks loopback) it succeeds…
    let env = hoithi_core::testing::TestEnv::new().await;
    let data = tempfile::tempdir().unwrap();
    let mut cmd = common::hoithi(data.path());
    common::configured(&mut cmd, &env);
    cmd.args(["--roles", "web"]);
    let server = common::Server::start(cmd).await;
    let port = server.url.rsplit(':').next().unwrap().to_owned();
    let listen = format!("0.0.0.0:{port}");
    let ready = run_image_command(&command, &listen);
    assert!(
        ready.status.success(),
        "{ready:?}\n{}",
        String::from_utf8_lossy(&ready.stderr)
    );
    // …as it does with an explicit URL.
    let explicit = Command::new(common::BIN)
        .args(["healthcheck", "--url", &format!("{}/readyz", server.url)])
        .output()
        .unwrap();
    assert!(explicit.status.success(), "{explicit:?}");

    // A server that answers but is not ready (503 from /readyz) fails the check.
    let unready = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let unready_addr = unready.local_addr().unwrap();
    let answering = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut conn, _) = unready.accept().unwrap();
        let mut request = [0u8; 1024];
        let n = conn.read(&mut request).unwrap();
        conn.write_all(
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 22\r\n\r\n{\"status\":\"unavailable\"}",
        )
        .unwrap();
        String::from_utf8_lossy(&request[..n]).into_owned()
    });
    let refused = run_image_command(&command, &format!("0.0.0.0:{}", unready_addr.port()));
    let request = answering.join().unwrap();
    assert!(request.starts_with("GET /readyz HTTP/1.1\r\n"), "{request}");
    assert!(!refused.status.success(), "503 is not healthy: {refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("503"),
        "{refused:?}"
    );

    // A stopped server fails it, promptly.
    assert!(server.stop().success());
    let started = std::time::Instant::now();
    let stopped = run_image_command(&command, &listen);
    assert!(!stopped.status.success(), "{stopped:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Nor is anything but plain http accepted.
    for url in ["https://127.0.0.1:1/readyz", "127.0.0.1:8080/readyz"] {
        let out = Command::new(common::BIN)
            .args(["healthcheck", "--url", url])
            .output()
            .unwrap();
        assert!(!out.status.success(), "{url}: {out:?}");
    }
}
