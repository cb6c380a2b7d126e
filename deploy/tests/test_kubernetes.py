"""The Kubernetes example (deploy/kubernetes) checked without a cluster: kubectl and kubeconform are not
available here, so this reads the YAML and checks the fields the example depends on — that every
reference (selector, port name, volume, ConfigMap, Service, profile name) points at something defined,
that Sputter's arguments agree with the mounts and ports, that the balancer lists one server per
replica, and that the profiles in the ConfigMap load in the real binary when mounted the kubelet's way."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from support import KUBERNETES, SPUTTER, find, manifests, mount_config_map, objects

KNOWN = {("v1", "ConfigMap"), ("v1", "Service"), ("apps/v1", "Deployment"), ("apps/v1", "StatefulSet")}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
WORKLOADS = ("Deployment", "StatefulSet")


def workloads():
    return [o for o in objects() if o["kind"] in WORKLOADS]


def containers(workload):
    return workload["spec"]["template"]["spec"]["containers"]


def option(args: list[str], name: str) -> str:
    assert args.count(name) == 1, f"{name} must appear once in {args}"
    return args[args.index(name) + 1]


def port_named(container, name: str) -> int:
    ports = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == name]
    assert len(ports) == 1, f"container {container['name']} has no port named {name!r}"
    return ports[0]


def sputter_container():
    return containers(find("StatefulSet", "sputter"))[0]


def balancer_conf() -> str:
    return find("ConfigMap", "sputter-balancer")["data"]["sputter-fleet.conf"]


def test_every_document_is_a_known_object_with_a_valid_name():
    seen = set()
    for file, docs in manifests().items():
        assert docs, f"{file} is empty"
        for doc in docs:
            assert isinstance(doc, dict), f"{file}: a document is not a mapping"
            if doc.get("kind") == "Kustomization":
                continue
            assert (doc.get("apiVersion"), doc.get("kind")) in KNOWN, f"{file}: unexpected {doc.get('apiVersion')} {doc.get('kind')}"
            name = doc["metadata"]["name"]
            assert DNS_LABEL.match(name) and len(name) <= 63, f"{file}: {name!r} is not a DNS label"
            assert (doc["kind"], name) not in seen, f"{doc['kind']} {name} is defined twice"
            seen.add((doc["kind"], name))


def test_the_kustomization_lists_every_file():
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    listed = kustomization["resources"]
    assert sorted(listed) == sorted(p.name for p in KUBERNETES.glob("*.yaml") if p.name != "kustomization.yaml")


def test_workloads_select_their_own_pods_and_mount_what_they_define():
    config_maps = {o["metadata"]["name"] for o in objects() if o["kind"] == "ConfigMap"}
    for w in workloads():
        name = w["metadata"]["name"]
        labels = w["spec"]["template"]["metadata"]["labels"]
        assert w["spec"]["selector"]["matchLabels"].items() <= labels.items(), f"{name}: selector does not match its pods"
        volumes = {v["name"]: v for v in w["spec"]["template"]["spec"].get("volumes", [])}
        for v in volumes.values():
            if "configMap" in v:
                assert v["configMap"]["name"] in config_maps, f"{name}: volume {v['name']} names an undefined ConfigMap"
        for c in containers(w):
            assert c["image"], f"{name}/{c['name']}: no image"
            names = [p["name"] for p in c.get("ports", [])]
            assert len(names) == len(set(names)) and all(len(n) <= 15 for n in names), f"{name}/{c['name']}: port names"
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes, f"{name}/{c['name']}: mount {m['name']} has no volume"
            for probe in ("readinessProbe", "livenessProbe"):
                if probe in c:
                    port = c[probe]["httpGet"]["port"]
                    assert port in names or isinstance(port, int), f"{name}/{c['name']}: {probe} port {port!r}"


def test_services_select_pods_and_target_named_ports():
    for s in (o for o in objects() if o["kind"] == "Service"):
        selector = s["spec"]["selector"]
        targets = [w for w in workloads() if selector.items() <= w["spec"]["template"]["metadata"]["labels"].items()]
        assert len(targets) == 1, f"Service {s['metadata']['name']} selects {len(targets)} workloads"
        port_names = {p["name"] for c in containers(targets[0]) for p in c.get("ports", [])}
        for p in s["spec"]["ports"]:
            assert p["targetPort"] in port_names, f"Service {s['metadata']['name']}: targetPort {p['targetPort']!r}"


def test_the_statefulset_has_a_headless_service_for_per_pod_names():
    sts = find("StatefulSet", "sputter")
    service = find("Service", sts["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"
    assert service["spec"]["publishNotReadyAddresses"] is True


def test_sputter_arguments_agree_with_mounts_ports_and_services():
    c = sputter_container()
    args = c["args"]
    assert args[0] == "serve"
    assert option(args, "--listen") == f"0.0.0.0:{port_named(c, 'proxy')}"
    assert option(args, "--control") == f"0.0.0.0:{port_named(c, 'control')}"
    mounts = {m["name"]: m for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in find("StatefulSet", "sputter")["spec"]["template"]["spec"]["volumes"]}
    profiles_mount = [m for m in mounts.values() if volumes[m["name"]].get("configMap", {}).get("name") == "sputter-profiles"]
    assert len(profiles_mount) == 1 and option(args, "--profiles") == profiles_mount[0]["mountPath"]
    ledger_dir = str(Path(option(args, "--ledger")).parent)
    writable = [m for m in mounts.values() if m["mountPath"] == ledger_dir and not m.get("readOnly")]
    assert writable, f"the ledger's directory {ledger_dir} is not a writable mount"
    assert option(args, "--ledger-level") in ("events", "summary")
    profile_names = [yaml.safe_load(t)["name"] for t in find("ConfigMap", "sputter-profiles")["data"].values()]
    assert option(args, "--profile") in profile_names
    upstream = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", option(args, "--upstream"))
    assert upstream, "--upstream should name a Service in the example"
    backend = find("Service", upstream.group(1))
    assert int(upstream.group(2)) in [p["port"] for p in backend["spec"]["ports"]]


def test_profile_config_map_keys_match_profile_names():
    for key, text in find("ConfigMap", "sputter-profiles")["data"].items():
        assert key.endswith(".yaml")
        assert yaml.safe_load(text)["name"] == key.removesuffix(".yaml")


def test_profiles_load_in_sputter_when_mounted_like_a_config_map(tmp_path):
    directory = mount_config_map(find("ConfigMap", "sputter-profiles"), tmp_path / "profiles")
    result = subprocess.run([str(SPUTTER), "profiles", "check", "--profiles", str(directory)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    checked = [line for line in result.stdout.splitlines() if line.startswith("ok ")]
    assert len(checked) == len(find("ConfigMap", "sputter-profiles")["data"]), result.stdout
    listed = subprocess.run([str(SPUTTER), "profiles", "list", "--profiles", str(directory)],
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert "fleet-churn" in listed.stdout and "..data" not in listed.stdout


def test_the_balancer_lists_one_server_per_replica_and_never_moves_an_attempt():
    conf = balancer_conf()
    sts = find("StatefulSet", "sputter")
    port = port_named(sputter_container(), "proxy")
    servers = re.findall(r"^\s*server\s+(\S+)(.*);", conf, re.M)
    expected = [f"{sts['metadata']['name']}-{i}.{sts['spec']['serviceName']}:{port}" for i in range(sts["spec"]["replicas"])]
    assert [s for s, _ in servers] == expected
    assert all("max_fails=0" in rest for _, rest in servers), "a faulting instance must never be marked down"
    assert re.search(r"^\s*hash \$sputter_hash_key consistent;", conf, re.M)
    for directive in ("proxy_next_upstream off;", "proxy_buffering off;", "proxy_set_header Sputter-Client $sputter_client_header;"):
        assert directive in conf
    balancer = find("Deployment", "sputter-balancer")
    nginx = containers(balancer)[0]
    assert re.search(rf"^\s*listen {port_named(nginx, 'http')};", conf, re.M)
    mount = nginx["volumeMounts"][0]
    assert mount["mountPath"] == "/etc/nginx/conf.d"


def test_the_balancer_config_is_valid_nginx(tmp_path):
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx is None:
        pytest.fail("nginx is not installed (scripts/test-fleet installs nginx-light)")
    from test_fleet import nginx_main_conf, local_fleet_conf
    conf = local_fleet_conf(balancer_conf(), [1, 2, 3], listen_port=9)
    main = nginx_main_conf(tmp_path, conf)
    result = subprocess.run([nginx, "-t", "-p", str(tmp_path), "-c", str(main)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
