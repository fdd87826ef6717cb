//! cert-manager's alphas and beta to `v1`: the private key settings of a Certificate move under
//! `spec.privateKey`, its organization under `spec.subject`, and a `CertificateRequest`'s `csr`
//! becomes `request`. Other kinds changed only their apiVersion.

use serde_json::{Map, Value};

use super::{Move, Step, TypeRef, child_obj, is_set, odd, restructure};

pub(super) fn is_cert_manager(group: &str) -> bool {
    matches!(
        group,
        "cert-manager.io" | "acme.cert-manager.io" | "certmanager.k8s.io"
    )
}

pub(super) fn convert(
    map: &mut Map<String, Value>,
    from: TypeRef<'_>,
    to: TypeRef<'_>,
    notes: &mut Vec<String>,
) -> Step {
    if from.group == "certmanager.k8s.io" {
        legacy(map, from.kind)?;
    }
    if to.version != "v1" {
        return Ok(());
    }
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    match from.kind {
        "Certificate" => certificate(spec, notes),
        // cert-manager's own conversion: the PEM request is `request` in v1.
        "CertificateRequest" | "Order" => {
            rename(spec, "csr", "request");
            Ok(())
        }
        "Challenge" => {
            rename(spec, "authzURL", "authorizationURL");
            let kind = match spec.get("type").and_then(Value::as_str) {
                Some("http-01") => Some("HTTP-01"),
                Some("dns-01") => Some("DNS-01"),
                _ => None,
            };
            if let Some(kind) = kind {
                spec.insert("type".to_owned(), Value::from(kind));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The pre-0.11 group: ACME settings moved from Certificates to the Issuer's solvers.
fn legacy(map: &mut Map<String, Value>, kind: &str) -> Step {
    let Some(spec) = child_obj(map, "spec", "spec")? else {
        return Ok(());
    };
    if kind == "Certificate" && is_set(spec, "acme") {
        return Err(
            "spec.acme of certmanager.k8s.io/v1alpha1 has no place on a cert-manager.io Certificate: move its \
             domains' challenge settings to the Issuer's spec.acme.solvers, then remove spec.acme."
                .to_owned(),
        );
    }
    if matches!(kind, "Issuer" | "ClusterIssuer")
        && let Some(Value::Object(acme)) = spec.get("acme")
        && (is_set(acme, "http01") || is_set(acme, "dns01"))
    {
        return Err(
            "spec.acme.http01/dns01 of certmanager.k8s.io/v1alpha1 became spec.acme.solvers in cert-manager.io; \
             rewrite the solvers by hand."
                .to_owned(),
        );
    }
    Ok(())
}

fn certificate(spec: &mut Map<String, Value>, notes: &mut Vec<String>) -> Step {
    let mut private_key = match spec.get("privateKey") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(existing)) => existing.clone(),
        Some(_) => return Err(odd("spec.privateKey", "a map")),
    };
    let mut key_settings = false;
    if let Some(algorithm) = spec.get("keyAlgorithm").filter(|value| !value.is_null()) {
        let algorithm = match algorithm.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("rsa") => "RSA",
            Some("ecdsa") => "ECDSA",
            Some("ed25519") => "Ed25519",
            _ => return Err(odd("spec.keyAlgorithm", "rsa or ecdsa")),
        };
        private_key.insert("algorithm".to_owned(), Value::from(algorithm));
        key_settings = true;
    }
    if let Some(size) = spec.get("keySize").filter(|value| !value.is_null()) {
        private_key.insert("size".to_owned(), size.clone());
        key_settings = true;
    }
    if let Some(encoding) = spec.get("keyEncoding").filter(|value| !value.is_null()) {
        let encoding = match encoding.as_str().map(str::to_ascii_lowercase).as_deref() {
            Some("pkcs1") => "PKCS1",
            Some("pkcs8") => "PKCS8",
            _ => return Err(odd("spec.keyEncoding", "pkcs1 or pkcs8")),
        };
        private_key.insert("encoding".to_owned(), Value::from(encoding));
        key_settings = true;
    }
    let mut moves = Vec::new();
    if key_settings {
        moves.push(Move::new(
            &["privateKey", "keyAlgorithm", "keySize", "keyEncoding"],
            "privateKey",
            Value::Object(private_key),
        ));
    }
    if let Some(organization) = spec
        .get("organization")
        .filter(|value| !value.is_null())
        .cloned()
    {
        let mut subject = match spec.get("subject") {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(existing)) => existing.clone(),
            Some(_) => return Err(odd("spec.subject", "a map")),
        };
        // As cert-manager converted it: a non-empty organization replaces the subject's.
        if organization
            .as_array()
            .is_some_and(|items| !items.is_empty())
        {
            if is_set(&subject, "organizations")
                && subject.get("organizations") != Some(&organization)
            {
                notes.push(
                    "spec.subject.organizations replaced by spec.organization, as cert-manager's own conversion does."
                        .to_owned(),
                );
            }
            subject.insert("organizations".to_owned(), organization);
        }
        moves.push(Move::new(
            &["subject", "organization"],
            "subject",
            Value::Object(subject),
        ));
    }
    restructure(spec, moves);
    rename(spec, "uriSANs", "uris");
    rename(spec, "emailSANs", "emailAddresses");
    Ok(())
}

/// Rename `old` to `new` in place, when set.
fn rename(map: &mut Map<String, Value>, old: &str, new: &str) {
    if let Some(value) = map.get(old).cloned() {
        restructure(map, vec![Move::new(&[old], new, value)]);
    }
}
