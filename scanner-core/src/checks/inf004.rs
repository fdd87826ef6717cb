//! INF004, as far as the Kubernetes API shows it: EKS's `kube-system/aws-auth` mappings that
//! can lock people out during the upgrade. The cloud half (KMS key, security group, IAM role,
//! access entries) needs the EKS API.

use serde_json::Value;

use super::util::name;
use super::{Check, CheckFinding, CodeInfo, Context, Family, Resource, Severity};

pub static CHECK: Check = Check {
    info: CodeInfo {
        code: "INF004",
        family: Family::Readiness,
        title: "Cluster access that the upgrade can lock out (aws-auth)",
        severity: Severity::Blocker,
        reads: "ConfigMap kube-system/aws-auth data.{mapRoles,mapUsers}: each entry's rolearn/userarn, username and groups",
        applies: "before the first hop, on EKS clusters that map IAM principals with aws-auth",
        remediation: "Fix aws-auth before touching the cluster: make mapRoles and mapUsers valid YAML lists (a broken file denies every IAM principal but the cluster's creator), strip the path from role ARNs (arn:aws:iam::ACCOUNT:role/NAME, whatever path the role has in IAM), and map a second administrator (a break-glass role in system:masters, or an EKS access entry with the cluster admin policy) so one lost role does not lock everyone out.",
        explanation: "On EKS, IAM principals reach the Kubernetes API through the aws-auth ConfigMap in kube-system (or through access entries). Its mapRoles and mapUsers keys hold YAML lists; when either does not parse, the authenticator ignores the file and only the principal that created the cluster can still get in, which the runbooks show as a whole team locked out mid-upgrade, and tools such as eksctl refuse to touch it. A role ARN written with the role's IAM path (role/teams/admin) never matches the principal STS presents, which carries no path, so that mapping silently grants nothing. And an upgrade is the moment an admin role is recreated, renamed or expires: with only one principal in system:masters there is no way back in. INF004 reads aws-auth as EKS's authenticator does. It cannot see EKS access entries or the cluster creator's implicit admin rights (the EKS API has them), so the single-admin finding is a warning.",
        retired: None,
    },
    needs: &[Resource::ConfigMaps],
    offline: true,
    needs_kubectl: false,
    uses: &[],
    run,
};

/// One mapping: `rolearn` or `userarn`, and its groups.
struct Mapping {
    arn: String,
    groups: Vec<String>,
}

/// The entries of a `mapRoles`/`mapUsers` value, or why it does not parse.
fn mappings(text: &str, arn_key: &str) -> Result<Vec<Mapping>, String> {
    let value: Value = serde_saphyr::from_str(text).map_err(|e| e.to_string())?;
    let items = match value {
        Value::Array(items) => items,
        Value::Null => Vec::new(),
        _ => return Err("not a YAML list".to_owned()),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let arn = item
                .get(arn_key)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("entry {} has no {arn_key}", i + 1))?;
            let groups = item
                .get("groups")
                .and_then(Value::as_array)
                .map(|g| {
                    g.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default();
            Ok(Mapping {
                arn: arn.to_owned(),
                groups,
            })
        })
        .collect()
}

/// The path of a role ARN (`teams/` in `arn:aws:iam::1:role/teams/admin`), if it has one.
fn role_path(arn: &str) -> Option<&str> {
    let resource = arn.split(':').nth(5)?;
    let rest = resource.strip_prefix("role/")?;
    let (path, _) = rest.rsplit_once('/')?;
    Some(path)
}

fn run(ctx: &Context<'_>, out: &mut Vec<CheckFinding>) {
    let has_aws_auth = ctx.state.list(Resource::ConfigMaps).iter().any(|c| {
        name(c) == "aws-auth"
            && c.pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .is_none_or(|ns| ns == "kube-system")
    });
    if !has_aws_auth {
        return; // Not EKS, or access entries only: nothing to judge here.
    }
    let object = "ConfigMap kube-system/aws-auth";
    let mut admins: Vec<String> = Vec::new();
    for (key, arn_key) in [("mapRoles", "rolearn"), ("mapUsers", "userarn")] {
        let Some(text) = ctx.state.config_map_key("aws-auth", key) else {
            continue;
        };
        match mappings(text, arn_key) {
            Err(e) => out.push(CheckFinding::new(
                &CHECK,
                Severity::Blocker,
                object,
                format!("{key} does not parse ({e}): EKS ignores the whole mapping, so only the cluster's creator can reach the API; repair it before the upgrade"),
            )),
            Ok(entries) => {
                for m in entries {
                    if arn_key == "rolearn"
                        && let Some(path) = role_path(&m.arn)
                    {
                        let stripped = m.arn.replacen(&format!("role/{path}/"), "role/", 1);
                        out.push(CheckFinding::new(
                            &CHECK,
                            Severity::Warning,
                            object,
                            format!("mapRoles maps {} with its IAM path {path}/: EKS matches role ARNs without a path, so this mapping grants nothing; write {stripped}", m.arn),
                        ));
                    }
                    if m.groups.iter().any(|g| g == "system:masters") && !admins.contains(&m.arn) {
                        admins.push(m.arn);
                    }
                }
            }
        }
    }
    if admins.len() < 2 && !out.iter().any(|f| f.severity == Severity::Blocker) {
        let who = admins
            .first()
            .map_or_else(|| "no principal is".to_owned(), |a| format!("only {a} is"));
        out.push(CheckFinding::new(
            &CHECK,
            Severity::Warning,
            object,
            format!("{who} mapped to system:masters: map a second administrator (or an EKS access entry with cluster admin) so the upgrade cannot lock everyone out"),
        ));
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::checks::ClusterState;
    use api_catalog::KubeVersion;
    use serde_json::json;

    fn findings(map_roles: &str, map_users: Option<&str>) -> Vec<(Severity, String)> {
        let mut data = json!({"mapRoles": map_roles});
        if let Some(u) = map_users {
            data["mapUsers"] = json!(u);
        }
        let mut s = ClusterState::new();
        s.set(
            Resource::ConfigMaps,
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "aws-auth", "namespace": "kube-system"}, "data": data})],
        );
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        out.into_iter().map(|f| (f.severity, f.message)).collect()
    }

    const NODES: &str = "- rolearn: arn:aws:iam::111122223333:role/eks-nodes\n  username: system:node:{{EC2PrivateDNSName}}\n  groups: [system:bootstrappers, system:nodes]\n";

    #[test]
    fn role_paths() {
        assert_eq!(
            role_path("arn:aws:iam::1:role/teams/ops/admin"),
            Some("teams/ops")
        );
        assert_eq!(role_path("arn:aws:iam::1:role/admin"), None);
        assert_eq!(role_path("arn:aws:iam::1:user/ops/alice"), None);
        assert_eq!(role_path("not an arn"), None);
    }

    #[test]
    fn a_broken_mapping_is_a_blocker() {
        let f = findings(
            "- rolearn: arn:aws:iam::1:role/a\n  groups: [system:masters\n",
            None,
        );
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].0, Severity::Blocker);
        assert!(
            f[0].1.starts_with("mapRoles does not parse ("),
            "{}",
            f[0].1
        );
        let f = findings("rolearn: x", None);
        assert!(f[0].1.contains("not a YAML list"), "{f:?}");
    }

    #[test]
    fn paths_and_a_single_admin_are_warnings() {
        let roles = format!(
            "{NODES}- rolearn: arn:aws:iam::111122223333:role/teams/platform-admin\n  username: admin\n  groups: [system:masters]\n"
        );
        let f = findings(&roles, None);
        assert_eq!(f.len(), 2, "{f:?}");
        assert!(
            f.iter()
                .any(|(_, m)| m.ends_with("write arn:aws:iam::111122223333:role/platform-admin"))
        );
        assert!(f.iter().any(|(_, m)| m.starts_with(
            "only arn:aws:iam::111122223333:role/teams/platform-admin is mapped to system:masters"
        )));
    }

    #[test]
    fn two_admins_without_paths_pass() {
        let roles = format!(
            "{NODES}- rolearn: arn:aws:iam::111122223333:role/platform-admin\n  username: admin\n  groups: [system:masters]\n"
        );
        let users = "- userarn: arn:aws:iam::111122223333:user/breakglass\n  username: breakglass\n  groups:\n  - system:masters\n";
        assert!(findings(&roles, Some(users)).is_empty());
    }

    #[test]
    fn no_aws_auth_is_not_eks() {
        let mut s = ClusterState::new();
        s.set(Resource::ConfigMaps, vec![]);
        let ctx = Context::new(&s, KubeVersion::new(1, 30), KubeVersion::new(1, 31));
        let mut out = Vec::new();
        run(&ctx, &mut out);
        assert!(out.is_empty());
    }
}
