//! The fields of each resource that the checks, snapshots and `plan` read, and nothing else.
//!
//! A live list of 200,000 objects held whole costs hundreds of megabytes; the readers need a
//! few fields of each. [`keep`] names those fields per resource as a static tree, and the
//! state holds only them: [`parse`] builds the kept fields straight from an object's JSON text
//! (skipped subtrees are read past without allocating), [`project`] trims an object already
//! parsed (manifests, tests). Both walk the same tree, so a field dropped by mistake fails the
//! check tests that feed the state from manifests, and the fixture test below compares every
//! check's output with and without the projection.
//!
//! Arrays are transparent: a tree node applied to an array applies to each item. A kept field
//! whose value is not an object (a scalar where an object was expected) is kept as it is, so
//! checks see the same types they would in the whole object.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::Resource;
use crate::inspect::evidence::LAST_APPLIED_ANNOTATION;

/// What to keep of a JSON value.
#[derive(Debug)]
pub(crate) enum Keep {
    /// The whole value.
    All,
    /// Of an object, only these keys, each projected by its own tree.
    Fields(&'static [(&'static str, Keep)]),
    /// Of an object, every key but these (their values are skipped).
    AllBut(&'static [&'static str]),
}

use Keep::{All, AllBut, Fields};

/// Metadata every reader may use: names, labels and annotations (less the last-applied
/// configuration, which can be large and hold applied Secret data), controllers, deletion,
/// generation (PDB staleness), uid (DRN006: a `DaemonSet` recreated under the same name),
/// finalizers and the deletion grace period (DRN010).
const METADATA: Keep = Fields(&[
    ("name", All),
    ("namespace", All),
    ("uid", All),
    ("labels", All),
    ("annotations", AllBut(&[LAST_APPLIED_ANNOTATION])),
    ("ownerReferences", All),
    ("deletionTimestamp", All),
    ("deletionGracePeriodSeconds", All),
    ("finalizers", All),
    ("generation", All),
]);

/// A container of a pod spec: what API003 (seccomp), DRN007 (preStop), SKEW005 (command
/// flags, image), ADD002/ADD003/SKEW003 (image), WL004 (whether a readiness probe is set:
/// an empty object stands for it) and snapshots (name) read.
const CONTAINER: Keep = Fields(&[
    ("name", All),
    ("image", All),
    ("restartPolicy", All),
    ("resources", Fields(&[("requests", All)])),
    ("command", All),
    ("args", All),
    ("lifecycle", All),
    ("securityContext", All),
    ("readinessProbe", Fields(&[])),
]);

/// A pod spec (of a pod or a workload's template). Volumes are kept whole: API002 and DRN005
/// read which source each volume has.
const POD_SPEC: Keep = Fields(&[
    ("nodeName", All),
    ("nodeSelector", All),
    ("affinity", All),
    ("tolerations", All),
    ("topologySpreadConstraints", All),
    ("securityContext", All),
    ("terminationGracePeriodSeconds", All),
    ("volumes", All),
    ("containers", CONTAINER),
    ("initContainers", CONTAINER),
]);

/// A container status: HLT002 (waiting reason, restarts), snapshots (ready, restarts).
const CONTAINER_STATUS: Keep = Fields(&[
    ("name", All),
    ("ready", All),
    ("restartCount", All),
    ("state", All),
]);

const POD: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", METADATA),
    ("spec", POD_SPEC),
    (
        "status",
        Fields(&[
            ("phase", All),
            ("conditions", All),
            ("containerStatuses", CONTAINER_STATUS),
            ("initContainerStatuses", CONTAINER_STATUS),
        ]),
    ),
]);

/// Deployments, `StatefulSets`, `DaemonSets`: replicas, selector, `minReadySeconds` (WL004),
/// the pod template; their status is a handful of counters, kept whole.
const WORKLOAD: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", METADATA),
    (
        "spec",
        Fields(&[
            ("replicas", All),
            ("minReadySeconds", All),
            ("selector", All),
            // StatefulSets: the claims' names (SNAP002: which sets hold data to back up).
            (
                "volumeClaimTemplates",
                Fields(&[("metadata", Fields(&[("name", All)]))]),
            ),
            (
                "template",
                Fields(&[
                    ("metadata", Fields(&[("labels", All), ("annotations", All)])),
                    ("spec", POD_SPEC),
                ]),
            ),
        ]),
    ),
    ("status", All),
]);

/// Metadata without labels and annotations, for the kinds whose labels and annotations no
/// reader uses (everything but pods, nodes and workloads): in a large cluster these are most of
/// what such objects hold.
const IDENTITY: Keep = Fields(&[
    ("name", All),
    ("namespace", All),
    ("ownerReferences", All),
    ("deletionTimestamp", All),
    ("generation", All),
]);

/// Flux and Argo CD objects: HLT004 reads their spec (target namespace, path, sync policy,
/// suspend), small next to their status, which is dropped.
const GITOPS: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    ("spec", All),
]);

/// Cluster API objects: INF005 reads replicas, version and the whole status (counters,
/// conditions, phase); the rest of the spec (machine templates) is dropped.
const CAPI: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    (
        "spec",
        Fields(&[("replicas", All), ("version", All), ("clusterName", All)]),
    ),
    ("status", All),
]);

/// Just the object's identity (`CSIDrivers`: their names).
const META_ONLY: Keep = Fields(&[("apiVersion", All), ("kind", All), ("metadata", IDENTITY)]);

/// Nodes: unschedulable, taints (DRN011: where evicted pods may go), conditions and node
/// info (versions, OS).
const NODE: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", METADATA),
    (
        "spec",
        Fields(&[("unschedulable", All), ("taints", All), ("providerID", All)]),
    ),
    (
        "status",
        Fields(&[("allocatable", All), ("conditions", All), ("nodeInfo", All)]),
    ),
]);

/// Services: the type, and the selector (WL004: which workloads a Service sends traffic to).
const SERVICE: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    ("spec", Fields(&[("type", All), ("selector", All)])),
]);

/// Endpoints: only whether a subset has addresses is read, so each address is kept as an
/// empty object (the count survives, the address does not).
const ENDPOINTS: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    ("subsets", Fields(&[("addresses", Fields(&[]))])),
]);

/// `PersistentVolumes`: the spec names the claim and the volume source (API002), small.
const PERSISTENT_VOLUME: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    ("spec", All),
]);

/// PDBs: budget, selector and the status counters (DRN001-003, snapshots).
const PDB: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    (
        "spec",
        Fields(&[
            ("minAvailable", All),
            ("maxUnavailable", All),
            ("selector", All),
        ]),
    ),
    (
        "status",
        Fields(&[
            ("disruptionsAllowed", All),
            ("observedGeneration", All),
            ("currentHealthy", All),
            ("desiredHealthy", All),
            ("expectedPods", All),
        ]),
    ),
]);

/// `ReplicaSets`: the controller (metadata) and the replica count (DRN002).
const REPLICA_SET: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    ("spec", Fields(&[("replicas", All)])),
]);

const HPA: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    (
        "spec",
        Fields(&[
            ("scaleTargetRef", All),
            ("minReplicas", All),
            ("maxReplicas", All),
        ]),
    ),
]);

/// Where a webhook or aggregated API is served; the CA bundle (the bulk) is dropped.
const CLIENT_CONFIG: Keep = Fields(&[("service", All), ("url", All)]);

/// Webhook configurations (EXT001): each webhook's policy, backend, rules and selectors.
const WEBHOOKS: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    (
        "webhooks",
        Fields(&[
            ("name", All),
            ("failurePolicy", All),
            ("clientConfig", CLIENT_CONFIG),
            ("rules", All),
            ("namespaceSelector", All),
            ("objectSelector", All),
        ]),
    ),
]);

/// `APIServices` (EXT002): group, version, backing Service, conditions.
const API_SERVICE: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    (
        "spec",
        Fields(&[("group", All), ("version", All), ("service", All)]),
    ),
    ("status", Fields(&[("conditions", All)])),
]);

/// CRDs (EXT003, snapshots): versions served and stored, the conversion webhook's Service.
/// Schemas, the bulk of a CRD, are dropped.
const CRD: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    (
        "spec",
        Fields(&[
            ("group", All),
            (
                "versions",
                Fields(&[("name", All), ("served", All), ("storage", All)]),
            ),
            (
                "conversion",
                Fields(&[
                    ("strategy", All),
                    ("webhook", Fields(&[("clientConfig", CLIENT_CONFIG)])),
                    ("webhookClientConfig", CLIENT_CONFIG),
                ]),
            ),
        ]),
    ),
    ("status", Fields(&[("storedVersions", All)])),
]);

/// Jobs (snapshots): completions, and the status counters and conditions.
const JOB: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    ("spec", Fields(&[("completions", All)])),
    ("status", All),
]);

/// The kube-system `ConfigMaps` the checks read, each with the keys read of it: `CoreDNS`'s
/// Corefile (ADD004), kube-proxy's configuration as kubeadm (`config.conf`) and EKS (`config`)
/// write it (NODE005), kubeadm's `ClusterConfiguration` (SNAP002), EKS's `aws-auth` IAM
/// mappings (INF004).
pub(crate) const CONFIG_MAPS: [(&str, &[&str]); 5] = [
    ("coredns", &["Corefile"]),
    ("kube-proxy", &["config.conf"]),
    ("kube-proxy-config", &["config"]),
    ("kubeadm-config", &["ClusterConfiguration"]),
    ("aws-auth", &["mapRoles", "mapUsers"]),
];

/// `ConfigMaps`: identity and the keys of [`CONFIG_MAPS`]; [`admit`] then drops every other
/// `ConfigMap` and the keys that are not its own.
const CONFIG_MAP: Keep = Fields(&[
    ("apiVersion", All),
    ("kind", All),
    ("metadata", IDENTITY),
    (
        "data",
        Fields(&[
            ("Corefile", All),
            ("config.conf", All),
            ("config", All),
            ("ClusterConfiguration", All),
            ("mapRoles", All),
            ("mapUsers", All),
        ]),
    ),
]);

/// Whether a projected object is kept at all, and what of it: a `ConfigMap` only when it is one
/// of [`CONFIG_MAPS`] in kube-system (or in no namespace, as manifests often leave it), with
/// only its own keys (the tree alone would keep a `config` key of any `ConfigMap`). Other
/// resources pass as they are.
pub(crate) fn admit(resource: Resource, mut object: Value) -> Option<Value> {
    if resource != Resource::ConfigMaps {
        return Some(object);
    }
    let namespace = object
        .pointer("/metadata/namespace")
        .and_then(Value::as_str);
    if namespace.is_some_and(|ns| Some(ns) != resource.namespace()) {
        return None;
    }
    let name = object.pointer("/metadata/name").and_then(Value::as_str)?;
    let (_, keys) = CONFIG_MAPS.iter().find(|(n, _)| *n == name)?;
    if let Some(data) = object.get_mut("data").and_then(Value::as_object_mut) {
        data.retain(|k, _| keys.contains(&k.as_str()));
    }
    Some(object)
}

/// What the readers of `resource` need of each object.
pub(crate) fn keep(resource: Resource) -> &'static Keep {
    match resource {
        Resource::Nodes => &NODE,
        Resource::Pods => &POD,
        Resource::Services => &SERVICE,
        Resource::Endpoints => &ENDPOINTS,
        Resource::PersistentVolumes => &PERSISTENT_VOLUME,
        Resource::PodDisruptionBudgets => &PDB,
        Resource::Deployments | Resource::StatefulSets | Resource::DaemonSets => &WORKLOAD,
        Resource::ReplicaSets => &REPLICA_SET,
        Resource::HorizontalPodAutoscalers => &HPA,
        Resource::ValidatingWebhooks | Resource::MutatingWebhooks => &WEBHOOKS,
        Resource::ApiServices => &API_SERVICE,
        Resource::CsiDrivers => &META_ONLY,
        Resource::CustomResourceDefinitions => &CRD,
        Resource::Jobs => &JOB,
        Resource::FluxKustomizations
        | Resource::FluxHelmReleases
        | Resource::ArgoApplications
        | Resource::ArgoApplicationSets => &GITOPS,
        Resource::CapiControlPlanes | Resource::CapiMachineDeployments | Resource::CapiMachines => {
            &CAPI
        }
        Resource::ConfigMaps => &CONFIG_MAP,
    }
}

/// Trims a parsed object to what `keep` names.
pub(crate) fn project(value: Value, keep: &Keep) -> Value {
    let mut value = trim(value, keep);
    compact(&mut value);
    value
}

fn trim(value: Value, keep: &Keep) -> Value {
    match (keep, value) {
        (All, v) => v,
        (Fields(fields), Value::Object(map)) => {
            let mut out = Map::new();
            for (k, v) in map {
                if let Some(sub) = field(fields, &k) {
                    out.insert(k, trim(v, sub));
                }
            }
            Value::Object(out)
        }
        (AllBut(skip), Value::Object(mut map)) => {
            for k in *skip {
                map.remove(*k);
            }
            Value::Object(map)
        }
        (_, Value::Array(items)) => {
            Value::Array(items.into_iter().map(|v| trim(v, keep)).collect())
        }
        (_, scalar) => scalar,
    }
}

/// Parses an object's JSON text into only what `keep` names.
pub(crate) fn parse(json: &str, keep: &Keep) -> serde_json::Result<Value> {
    let mut de = serde_json::Deserializer::from_str(json);
    let mut value = Project(keep).deserialize(&mut de)?;
    de.end()?;
    compact(&mut value);
    Ok(value)
}

/// Gives back the room that growth left in every map, array and string of a held object.
///
/// Maps and arrays grow by doubling as they are read, so a map of one key holds room for
/// four, and with `serde_json`'s `preserve_order` (on in this workspace) each entry is about
/// 110 bytes: the spare room was most of a held object's memory. Maps are rebuilt at their
/// exact size (the map type has no `shrink_to_fit`); the order of keys is kept.
pub(crate) fn compact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let mut exact = Map::with_capacity(map.len());
            for (k, mut v) in std::mem::take(map) {
                compact(&mut v);
                exact.insert(k, v);
            }
            *map = exact;
        }
        Value::Array(items) => {
            items.iter_mut().for_each(compact);
            items.shrink_to_fit();
        }
        Value::String(s) => s.shrink_to_fit(),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

fn field<'k>(fields: &'k [(&'static str, Keep)], key: &str) -> Option<&'k Keep> {
    fields.iter().find(|(k, _)| *k == key).map(|(_, keep)| keep)
}

/// A deserializer seed that builds the projection of a value as it is read.
#[derive(Clone, Copy)]
struct Project<'k>(&'k Keep);

impl<'de> DeserializeSeed<'de> for Project<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        match self.0 {
            All => serde::Deserialize::deserialize(d),
            _ => d.deserialize_any(self),
        }
    }
}

impl<'de> Visitor<'de> for Project<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(hit) = map.next_key_seed(KeySeed(self.0))? {
            match hit {
                Some((key, sub)) => {
                    let v = map.next_value_seed(Project(sub))?;
                    out.insert(key, v);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Value::Object(out))
    }
}

/// Reads a key and says whether it is kept (with its tree); a skipped key is not allocated.
#[derive(Clone, Copy)]
struct KeySeed<'k>(&'k Keep);

impl<'k> KeySeed<'k> {
    fn hit(self, key: &str) -> Option<&'k Keep> {
        match self.0 {
            All => Some(&All),
            Fields(fields) => field(fields, key),
            AllBut(skip) => (!skip.contains(&key)).then_some(&All),
        }
    }
}

impl<'de, 'k> DeserializeSeed<'de> for KeySeed<'k> {
    type Value = Option<(String, &'k Keep)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'k> Visitor<'_> for KeySeed<'k> {
    type Value = Option<(String, &'k Keep)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.hit(key).map(|sub| (key.to_owned(), sub)))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Self::Value, E> {
        Ok(self.hit(&key).map(|sub| (key, sub)))
    }
}

#[allow(clippy::unwrap_used)] // tests fail loudly on purpose
#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::checks::{ClusterState, Selection};
    use crate::snapshot::{ClusterFacts, Snapshot};
    use api_catalog::KubeVersion;
    use serde_json::json;

    #[test]
    fn parsing_and_trimming_keep_the_same_fields() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "a", "uid": "u",
                "labels": {"app": "web"},
                "annotations": {"x": "1", LAST_APPLIED_ANNOTATION: "{\"big\":1}"},
                "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"nodeName": "n1", "dnsPolicy": "ClusterFirst",
                "containers": [{"name": "c", "image": "i:1", "env": [{"name": "E", "value": "v"}],
                    "lifecycle": {"preStop": {"exec": {"command": ["sleep"]}}}}],
                "volumes": [{"name": "v", "emptyDir": {"medium": "Memory"}}]},
            "status": {"phase": "Running", "podIP": "10.0.0.1",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "c", "ready": true, "restartCount": 2,
                    "image": "i:1", "state": {"running": {}}}]}
        });
        let want = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "a", "uid": "u", "labels": {"app": "web"},
                "annotations": {"x": "1"}},
            "spec": {"nodeName": "n1",
                "containers": [{"name": "c", "image": "i:1",
                    "lifecycle": {"preStop": {"exec": {"command": ["sleep"]}}}}],
                "volumes": [{"name": "v", "emptyDir": {"medium": "Memory"}}]},
            "status": {"phase": "Running",
                "conditions": [{"type": "Ready", "status": "True"}],
                "containerStatuses": [{"name": "c", "ready": true, "restartCount": 2,
                    "state": {"running": {}}}]}
        });
        let keep = keep(Resource::Pods);
        assert_eq!(project(pod.clone(), keep), want);
        assert_eq!(parse(&pod.to_string(), keep).unwrap(), want);
    }

    #[test]
    fn unexpected_types_are_kept_as_they_are() {
        // A scalar where an object is expected stays, so a check sees what the cluster sent.
        let odd = json!({"metadata": "oops", "spec": {"containers": "none", "nodeName": 3}});
        let keep = keep(Resource::Pods);
        assert_eq!(project(odd.clone(), keep), odd);
        assert_eq!(parse(&odd.to_string(), keep).unwrap(), odd);
        // Escaped keys are matched after unescaping.
        let escaped = r#"{"metadata":{"n\u0061me":"x","resourceVersion":"7"}}"#;
        assert_eq!(
            parse(escaped, keep).unwrap(),
            json!({"metadata": {"name": "x"}})
        );
    }

    #[test]
    fn compacting_keeps_every_value_and_the_order_of_keys() {
        let mut grown = Map::new();
        for k in ["zeta", "alpha", "mid"] {
            grown.insert(
                k.to_owned(),
                json!({"list": [1, "two", null, {"b": true, "a": 2.5}]}),
            );
        }
        let mut value = Value::Object(grown);
        let before = value.to_string();
        compact(&mut value);
        assert_eq!(value.to_string(), before);
        let Value::Object(map) = &value else {
            unreachable!()
        };
        assert_eq!(map.keys().collect::<Vec<_>>(), ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn only_the_named_kube_system_config_maps_and_their_keys_are_kept() {
        let cm = |ns: &str, name: &str| {
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": ns, "resourceVersion": "9"},
                "data": {"Corefile": ".:53 {}", "config.conf": "mode: ipvs", "config": "x",
                    "ClusterConfiguration": "etcd: {}", "secret-ish": "s"}})
        };
        let mut state = ClusterState::new();
        state.set(
            Resource::ConfigMaps,
            vec![
                cm("kube-system", "coredns"),
                cm("kube-system", "app-settings"),
                cm("default", "kube-proxy"),
            ],
        );
        assert_eq!(
            state.list(Resource::ConfigMaps),
            [json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "coredns", "namespace": "kube-system"},
                "data": {"Corefile": ".:53 {}"}})]
        );
        assert_eq!(state.config_map("coredns"), Some(".:53 {}"));
        assert_eq!(state.config_map("kube-proxy"), None);
        // Parsed from a live list's text, the same.
        let parsed = parse(
            &cm("kube-system", "kube-proxy").to_string(),
            keep(Resource::ConfigMaps),
        )
        .unwrap();
        let mut live = ClusterState::new();
        live.set_projected(Resource::ConfigMaps, vec![parsed]);
        assert_eq!(live.config_map("kube-proxy"), Some("mode: ipvs"));
        assert_eq!(
            live.list(Resource::ConfigMaps)[0]["data"]
                .as_object()
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn invalid_json_is_an_error() {
        assert!(parse("{\"metadata\":", keep(Resource::Pods)).is_err());
        assert!(parse("{} x", keep(Resource::Pods)).is_err());
    }

    /// Every recorded cluster's lists, whole and projected (trimmed and parsed), per
    /// fixture: (version directory, whole state, trimmed state, parsed state).
    fn recorded_states() -> Vec<(String, ClusterState, ClusterState, ClusterState)> {
        let root = format!("{}/../fixtures/cluster", env!("CARGO_MANIFEST_DIR"));
        let mut out = Vec::new();
        for dir in ["v1.20", "v1.31", "v1.34"] {
            let (mut whole, mut trimmed, mut parsed) = (
                ClusterState::new(),
                ClusterState::new(),
                ClusterState::new(),
            );
            for resource in Resource::ALL {
                let group = match resource.group() {
                    "" => "core",
                    g => g,
                };
                // The most preferred version recorded, as a live scan reads it.
                let Some(text) = resource.api_versions().iter().find_map(|v| {
                    let version = v.rsplit('/').next().unwrap_or(v);
                    let file = format!(
                        "{root}/{dir}/list/{group}/{version}/{}.json",
                        resource.name()
                    );
                    std::fs::read_to_string(file).ok()
                }) else {
                    continue;
                };
                let list: Value = serde_json::from_str(&text).unwrap();
                let items = list["items"].as_array().unwrap().clone();
                let raw: Vec<Value> = items
                    .iter()
                    .map(|i| parse(&i.to_string(), keep(resource)).unwrap())
                    .collect();
                parsed.set_projected(resource, raw);
                trimmed.set(resource, items.clone());
                whole.set_whole(resource, items);
            }
            out.push((dir.to_owned(), whole, trimmed, parsed));
        }
        out
    }

    #[test]
    fn every_check_and_snapshot_reads_the_same_from_the_projection() {
        let selection = Selection::default();
        let mut objects = 0;
        for (dir, whole, trimmed, parsed) in recorded_states() {
            objects += Resource::ALL
                .iter()
                .map(|r| whole.list(*r).len())
                .sum::<usize>();
            assert_eq!(trimmed, parsed, "{dir}: parsing and trimming differ");
            for (current, target) in [(20, 34), (24, 30), (31, 34), (34, 35)] {
                let (current, target) = (KubeVersion::new(1, current), KubeVersion::new(1, target));
                let kubectl = Some(KubeVersion::new(1, 27));
                let want = super::super::run(&whole, current, target, &selection, false, kubectl);
                let got = super::super::run(&trimmed, current, target, &selection, false, kubectl);
                assert_eq!(got, want, "{dir}: {current} -> {target}");
            }
            let snapshot = |state: &ClusterState| {
                Snapshot::capture(ClusterFacts::default(), state, &[], &BTreeSet::new(), &[])
            };
            assert_eq!(snapshot(&trimmed), snapshot(&whole), "{dir}: snapshot");
        }
        assert!(objects > 100, "the fixtures hold {objects} objects");
    }

    #[test]
    fn the_projection_is_smaller() {
        // Not a proof of anything a reader needs, but of the point: most bytes go.
        for (dir, whole, trimmed, _) in recorded_states() {
            let size = |s: &ClusterState| {
                Resource::ALL
                    .iter()
                    .flat_map(|r| s.list(*r))
                    .map(|o| o.to_string().len())
                    .sum::<usize>()
            };
            assert!(
                size(&trimmed) * 2 < size(&whole),
                "{dir}: {} of {} bytes kept",
                size(&trimmed),
                size(&whole)
            );
        }
    }
}
