//! Path-validation cases in the manner of x509-limbo and BetterTLS, generated with rcgen: one per chain rule
//! and the healthy variants. Each case has the verdict RFC 5280 / the CA/Browser Forum Baseline Requirements
//! expect, and what `mailpath cert CHAIN --ca ROOTS --name NAME --at TIME` must say (the same, except where it
//! differs on purpose: what Exchange and Exchange Online accept is a warning, not a red). OpenSSL
//! (`openssl verify -x509_strict -purpose sslserver`) must agree with the expected verdict where it is right;
//! pyca/cryptography's verifier, when installed, is compared too, and mailpath must agree with the expected
//! results at least as often as it does. The agreement table is printed (`--nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use mailpath_tests::{mailpath, require, run_with_timeout, text};
use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, CustomExtension, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose as Eku, GeneralSubtree, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose as Ku, NameConstraints,
};
use time::OffsetDateTime;

const T: Duration = Duration::from_secs(60);
const NAME: &str = "mail.contoso.com";

fn now() -> OffsetDateTime {
    time::macros::datetime!(2026-11-28 12:00 UTC)
}

fn days(n: i64) -> time::Duration {
    time::Duration::days(n)
}

/// A generated certificate, with what signed it kept to sign others.
struct Made {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl Made {
    fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::from_params(&self.params, &self.key)
    }
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "Chain Cases");
    dn.push(DnType::CommonName, cn);
    dn
}

fn ca_params(cn: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![Ku::KeyCertSign, Ku::CrlSign];
    p.not_before = now() - days(365);
    p.not_after = now() + days(3650);
    p
}

fn inter_params(cn: &str) -> CertificateParams {
    let mut p = ca_params(cn);
    p.use_authority_key_identifier_extension = true;
    p.not_after = now() + days(1825);
    p
}

fn leaf_params(names: &[&str]) -> CertificateParams {
    let mut p = CertificateParams::new(names.iter().map(|s| (*s).to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name = dn(names.first().copied().unwrap_or(NAME));
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![Ku::DigitalSignature];
    p.extended_key_usages = vec![Eku::ServerAuth, Eku::ClientAuth];
    p.use_authority_key_identifier_extension = true;
    p.not_before = now() - days(30);
    p.not_after = now() + days(335);
    p
}

fn make(params: CertificateParams, by: Option<&Made>) -> Made {
    let key = KeyPair::generate().unwrap();
    let cert = match by {
        Some(issuer) => params.signed_by(&key, &issuer.issuer()).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Made {
        pem: cert.pem(),
        params,
        key,
    }
}

/// An intermediate CA made from `params` under `root`, and a healthy leaf under it.
fn ca_with_leaf(params: CertificateParams, root: &Made) -> (Made, Made) {
    let ca = make(params, Some(root));
    let leaf = make(leaf_params(&[NAME]), Some(&ca));
    (ca, leaf)
}

/// A root made from `params`, a healthy intermediate `inter` under it and a healthy leaf under that.
fn rooted(params: CertificateParams, inter: &str) -> (Made, Made, Made) {
    let root = make(params, None);
    let (ca, leaf) = ca_with_leaf(inter_params(inter), &root);
    (root, ca, leaf)
}

/// Name constraints on a CA.
fn constrain(params: &mut CertificateParams, permitted: Vec<GeneralSubtree>, excluded: Vec<GeneralSubtree>) {
    params.name_constraints = Some(NameConstraints {
        permitted_subtrees: permitted,
        excluded_subtrees: excluded,
    });
}

/// Another certificate for the same key (a re-issued CA), signed by `by` (self-signed when none).
fn again(params: CertificateParams, key: &KeyPair, by: Option<&Made>) -> Made {
    let cert = match by {
        Some(issuer) => params.signed_by(key, &issuer.issuer()).unwrap(),
        None => params.self_signed(key).unwrap(),
    };
    Made {
        pem: cert.pem(),
        params,
        key: KeyPair::from_pem(&key.serialize_pem()).unwrap(),
    }
}

/// A critical (or not) extension with a private OID and a NULL value.
fn unknown_ext(critical: bool) -> CustomExtension {
    let mut e = CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 55555, 1], vec![0x05, 0x00]);
    e.set_criticality(critical);
    e
}

/// A CA whose basicConstraints and subjectKeyIdentifier are written by hand (rcgen writes them critical
/// and always together): `bc` is the DER of the BasicConstraints value, `ski` whether to add one.
fn hand_made_ca(cn: &str, bc: Option<(bool, Vec<u8>)>, ski: bool, inter: bool) -> CertificateParams {
    let mut p = if inter { inter_params(cn) } else { ca_params(cn) };
    p.is_ca = IsCa::NoCa;
    let id: Vec<u8> = cn.bytes().cycle().take(20).collect();
    p.key_identifier_method = KeyIdMethod::PreSpecified(id.clone());
    if let Some((critical, value)) = bc {
        let mut e = CustomExtension::from_oid_content(&[2, 5, 29, 19], value);
        e.set_criticality(critical);
        p.custom_extensions.push(e);
    }
    if ski {
        let mut value = vec![0x04, 20];
        value.extend(&id);
        p.custom_extensions
            .push(CustomExtension::from_oid_content(&[2, 5, 29, 14], value));
    }
    p
}

const BC_CA: [u8; 5] = [0x30, 0x03, 0x01, 0x01, 0xff];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V {
    Accept,
    /// No red, but a warning on a chain rule: mailpath's word for "a standard says no, Exchange says yes".
    Warn,
    Reject,
}

struct Case {
    id: &'static str,
    /// The check that must flag it (empty for a healthy case).
    check: &'static str,
    expect: V,
    mailpath: V,
    /// Why OpenSSL's verdict differs from the expected one, when it does (then it is not asserted).
    openssl_wrong: Option<&'static str>,
    chain: Vec<String>,
    roots: Vec<String>,
    name: &'static str,
}

fn case(id: &'static str, check: &'static str, expect: V, chain: Vec<&Made>, roots: Vec<&Made>) -> Case {
    Case {
        id,
        check,
        expect,
        mailpath: expect,
        openssl_wrong: None,
        chain: chain.iter().map(|m| m.pem.clone()).collect(),
        roots: roots.iter().map(|m| m.pem.clone()).collect(),
        name: NAME,
    }
}

impl Case {
    fn mailpath(mut self, v: V) -> Case {
        self.mailpath = v;
        self
    }
    fn name(mut self, name: &'static str) -> Case {
        self.name = name;
        self
    }
    fn openssl_wrong(mut self, why: &'static str) -> Case {
        self.openssl_wrong = Some(why);
        self
    }
}

#[allow(clippy::too_many_lines)]
fn cases() -> Vec<Case> {
    use V::{Accept, Reject, Warn};
    let root = make(ca_params("Root CA"), None);
    let inter = make(inter_params("Issuing CA"), Some(&root));
    let leaf = |p: CertificateParams| make(p, Some(&inter));
    let std_leaf = leaf(leaf_params(&[NAME]));
    let mut out = Vec::new();

    // Healthy variants.
    out.push(case("healthy", "", Accept, vec![&std_leaf, &inter], vec![&root]));
    let direct = make(leaf_params(&[NAME]), Some(&root));
    out.push(case(
        "healthy-issued-by-root",
        "",
        Accept,
        vec![&direct],
        vec![&root],
    ));
    let inter2 = make(inter_params("Issuing CA 2"), Some(&inter));
    let deep = make(leaf_params(&[NAME]), Some(&inter2));
    out.push(case(
        "healthy-two-intermediates",
        "",
        Accept,
        vec![&deep, &inter2, &inter],
        vec![&root],
    ));
    out.push(case(
        "healthy-root-sent-too",
        "",
        Accept,
        vec![&std_leaf, &inter, &root],
        vec![&root],
    ));
    let wild = leaf(leaf_params(&["*.contoso.com"]));
    out.push(case(
        "healthy-wildcard",
        "",
        Accept,
        vec![&wild, &inter],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.extended_key_usages = vec![Eku::ServerAuth];
    let server_only = leaf(p);
    out.push(case(
        "healthy-serverauth-only",
        "",
        Accept,
        vec![&server_only, &inter],
        vec![&root],
    ));
    let mut p = inter_params("Issuing CA pathlen 0");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let (pl0, under_pl0) = ca_with_leaf(p, &root);
    out.push(case(
        "healthy-pathlen-0",
        "",
        Accept,
        vec![&under_pl0, &pl0],
        vec![&root],
    ));
    let mut p = inter_params("Contoso-only CA");
    constrain(
        &mut p,
        vec![GeneralSubtree::DnsName("contoso.com".into())],
        vec![],
    );
    let (nc_contoso, in_nc) = ca_with_leaf(p, &root);
    out.push(case(
        "healthy-name-constraints-permitted",
        "",
        Accept,
        vec![&in_nc, &nc_contoso],
        vec![&root],
    ));
    let mut p = inter_params("Not-fabrikam CA");
    constrain(
        &mut p,
        vec![],
        vec![GeneralSubtree::DnsName("fabrikam.com".into())],
    );
    let (nc_excl, outside_excl) = ca_with_leaf(p, &root);
    out.push(case(
        "healthy-name-constraints-excluded-other",
        "",
        Accept,
        vec![&outside_excl, &nc_excl],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.custom_extensions.push(unknown_ext(false));
    let noncrit = leaf(p);
    out.push(case(
        "healthy-unknown-noncritical-extension",
        "",
        Accept,
        vec![&noncrit, &inter],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME, "192.0.2.10"]);
    p.distinguished_name = dn(NAME);
    let with_ip = {
        let mut ca = inter_params("Contoso net CA");
        constrain(
            &mut ca,
            vec![
                GeneralSubtree::DnsName("contoso.com".into()),
                GeneralSubtree::IpAddress(CidrSubnet::V4([192, 0, 2, 0], [255, 255, 255, 0])),
            ],
            vec![],
        );
        let ca = make(ca, Some(&root));
        let l = make(p, Some(&ca));
        (l, ca)
    };
    out.push(case(
        "healthy-ip-within-constraints",
        "",
        Accept,
        vec![&with_ip.0, &with_ip.1],
        vec![&root],
    ));
    let stranger = make(ca_params("Unrelated CA"), None);
    out.push(case(
        "healthy-extra-certificate-sent",
        "",
        Accept,
        vec![&std_leaf, &inter, &stranger],
        vec![&root],
    ));
    // Path building (BetterTLS style): an expired copy of the issuing CA (same name and key) sent first, the
    // current one after it; and an expired copy of the root beside the current one in the trust store.
    let mut p = inter.params.clone();
    p.not_before = now() - days(2000);
    p.not_after = now() - days(10);
    let inter_old = again(p, &inter.key, Some(&root));
    out.push(case(
        "healthy-expired-copy-of-the-intermediate-sent-first",
        "",
        Accept,
        vec![&std_leaf, &inter_old, &inter],
        vec![&root],
    ));
    let mut p = root.params.clone();
    p.not_before = now() - days(4000);
    p.not_after = now() - days(10);
    let root_old = again(p, &root.key, None);
    out.push(case(
        "healthy-expired-copy-of-the-root-trusted-too",
        "",
        Accept,
        vec![&std_leaf, &inter],
        vec![&root_old, &root],
    ));
    let mut p = inter_params("Fabrikam-only CA");
    constrain(
        &mut p,
        vec![GeneralSubtree::DnsName("fabrikam.com".into())],
        vec![],
    );
    let nc_fabrikam = make(p, Some(&root));
    let mut p = leaf_params(&["mail.fabrikam.com"]);
    p.distinguished_name = dn("mail.contoso.com");
    let cn_outside_san_inside = make(p, Some(&nc_fabrikam));
    out.push(
        case(
            "healthy-cn-outside-constraints-but-san-inside",
            "",
            Accept,
            vec![&cn_outside_san_inside, &nc_fabrikam],
            vec![&root],
        )
        .name("mail.fabrikam.com"),
    );
    let mut p = leaf_params(&[NAME]);
    p.key_usages = vec![Ku::DigitalSignature, Ku::KeyEncipherment];
    let ku_both = leaf(p);
    out.push(case(
        "healthy-keyusage-both",
        "",
        Accept,
        vec![&ku_both, &inter],
        vec![&root],
    ));

    // The leaf's own validity and names.
    let mut p = leaf_params(&[NAME]);
    p.not_before = now() - days(400);
    p.not_after = now() - days(5);
    let expired = leaf(p);
    out.push(case(
        "leaf-expired",
        "tls.cert.validity",
        Reject,
        vec![&expired, &inter],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.not_before = now() + days(3);
    p.not_after = now() + days(300);
    let future = leaf(p);
    out.push(case(
        "leaf-not-yet-valid",
        "tls.cert.validity",
        Reject,
        vec![&future, &inter],
        vec![&root],
    ));
    let other = leaf(leaf_params(&["other.contoso.com"]));
    out.push(case(
        "name-mismatch",
        "tls.cert.name",
        Reject,
        vec![&other, &inter],
        vec![&root],
    ));
    let partial = leaf(leaf_params(&["m*.contoso.com"]));
    out.push(
        case(
            "wildcard-partial-label",
            "tls.cert.name",
            Reject,
            vec![&partial, &inter],
            vec![&root],
        )
        .openssl_wrong(
            "OpenSSL matches partial-label wildcards (m*.contoso.com) unless told not to \
             (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS); RFC 6125 6.4.3 and the Baseline Requirements allow only a whole \
             left-most *",
        ),
    );
    let upper = leaf(leaf_params(&["MAIL.Contoso.COM"]));
    out.push(case(
        "healthy-san-in-capitals",
        "",
        Accept,
        vec![&upper, &inter],
        vec![&root],
    ));
    out.push(case(
        "healthy-chain-sent-out-of-order",
        "",
        Accept,
        vec![&deep, &inter, &root, &inter2],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.extended_key_usages = vec![Eku::Any];
    let any_eku = leaf(p);
    out.push(case(
        "leaf-any-eku-only",
        "tls.cert.trusted",
        Reject,
        vec![&any_eku, &inter],
        vec![&root],
    ));
    out.push(
        case(
            "wildcard-two-labels",
            "tls.cert.name",
            Reject,
            vec![&wild, &inter],
            vec![&root],
        )
        .name("a.mail.contoso.com"),
    );
    let mut p = leaf_params(&[]);
    p.subject_alt_names.clear();
    p.distinguished_name = dn(NAME);
    let cn_only = leaf(p);
    out.push(
        case(
            "cn-only-no-san",
            "tls.cert.san",
            Reject,
            vec![&cn_only, &inter],
            vec![&root],
        )
        // Exchange and EOP match the CN: a warning that says so, not a red.
        .mailpath(Warn)
        .openssl_wrong(
            "OpenSSL's -verify_hostname falls back to the subject CN when there is no DNS subjectAltName (as \
             Exchange does); RFC 6125 and the Baseline Requirements do not",
        ),
    );
    let mut p = leaf_params(&[NAME]);
    p.extended_key_usages = vec![Eku::ClientAuth];
    let client_only = leaf(p);
    out.push(case(
        "leaf-eku-clientauth-only",
        "tls.cert.eku",
        Reject,
        vec![&client_only, &inter],
        vec![&root],
    ));

    // Trust.
    let other_root = make(ca_params("Other Root CA"), None);
    out.push(case(
        "unknown-root",
        "tls.cert.trusted",
        Reject,
        vec![&std_leaf, &inter],
        vec![&other_root],
    ));
    out.push(case(
        "missing-intermediate",
        "tls.cert.chain_complete",
        Reject,
        vec![&std_leaf],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.use_authority_key_identifier_extension = false;
    let self_signed = make(p, None);
    out.push(case(
        "self-signed-leaf",
        "tls.cert.trusted",
        Reject,
        vec![&self_signed],
        vec![&root],
    ));
    // An impostor CA: same name as the issuing CA, another key.
    let impostor = make(inter_params("Issuing CA"), Some(&root));
    let forged = make(leaf_params(&[NAME]), Some(&impostor));
    out.push(case(
        "signature-by-another-key",
        "tls.cert.trusted",
        Reject,
        vec![&forged, &inter],
        vec![&root],
    ));

    // CA validity, the root included.
    let mut p = inter_params("Expired CA");
    p.not_before = now() - days(2000);
    p.not_after = now() - days(5);
    let (ca_exp, under) = ca_with_leaf(p, &root);
    out.push(case(
        "intermediate-expired",
        "tls.cert.chain.ca_validity",
        Reject,
        vec![&under, &ca_exp],
        vec![&root],
    ));
    let mut p = inter_params("Future CA");
    p.not_before = now() + days(5);
    let (ca_fut, under) = ca_with_leaf(p, &root);
    out.push(case(
        "intermediate-not-yet-valid",
        "tls.cert.chain.ca_validity",
        Reject,
        vec![&under, &ca_fut],
        vec![&root],
    ));
    let mut p = ca_params("Expired Root CA");
    p.not_before = now() - days(4000);
    p.not_after = now() - days(5);
    let (root_exp, i, l) = rooted(p, "Issuing CA under expired root");
    out.push(case(
        "root-expired",
        "tls.cert.chain.ca_validity",
        Reject,
        vec![&l, &i],
        vec![&root_exp],
    ));
    let mut p = ca_params("Future Root CA");
    p.not_before = now() + days(10);
    let (root_fut, i, l) = rooted(p, "Issuing CA under future root");
    out.push(case(
        "root-not-yet-valid",
        "tls.cert.chain.ca_validity",
        Reject,
        vec![&l, &i],
        vec![&root_fut],
    ));

    // The leaf must be an end entity.
    let mut p = leaf_params(&[NAME]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let leaf_ca = leaf(p);
    out.push(
        case(
            "leaf-is-ca",
            "tls.cert.chain.leaf_ca",
            Reject,
            vec![&leaf_ca, &inter],
            vec![&root],
        )
        .openssl_wrong(
            "OpenSSL 3.0 accepts a CA certificate as the end entity, even with -x509_strict; the Baseline \
         Requirements (7.1.2.7.8) forbid cA=TRUE in a subscriber certificate",
        ),
    );
    let mut p = leaf_params(&[NAME]);
    p.key_usages = vec![Ku::DigitalSignature, Ku::KeyCertSign];
    let leaf_kcs = leaf(p);
    out.push(case(
        "leaf-keycertsign",
        "tls.cert.chain.leaf_ca",
        Reject,
        vec![&leaf_kcs, &inter],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.is_ca = IsCa::NoCa;
    p.key_usages = vec![Ku::DigitalSignature, Ku::KeyCertSign];
    let leaf_kcs_nobc = leaf(p);
    out.push(case(
        "leaf-keycertsign-without-basic-constraints",
        "tls.cert.chain.leaf_ca",
        Reject,
        vec![&leaf_kcs_nobc, &inter],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.key_usages = vec![Ku::DataEncipherment];
    let leaf_ku = leaf(p);
    out.push(case(
        "leaf-keyusage-data-encipherment-only",
        "tls.cert.chain.leaf_key_usage",
        Reject,
        vec![&leaf_ku, &inter],
        vec![&root],
    ));
    let mut p = leaf_params(&[NAME]);
    p.key_usages = vec![Ku::KeyAgreement];
    let leaf_ka = leaf(p);
    out.push(
        case(
            "leaf-ec-keyagreement-only",
            "tls.cert.chain.leaf_key_usage",
            Reject,
            vec![&leaf_ka, &inter],
            vec![&root],
        )
        .openssl_wrong(
            "OpenSSL's sslserver purpose accepts keyAgreement for any key, but an ECDSA key signs in TLS \
             (ECDHE_ECDSA, TLS 1.3) and needs digitalSignature",
        ),
    );

    // Issuers must be CAs that may sign certificates.
    let mut p = inter_params("Not a CA");
    p.is_ca = IsCa::ExplicitNoCa;
    let (not_ca, under) = ca_with_leaf(p, &root);
    out.push(case(
        "intermediate-not-ca",
        "tls.cert.chain.ca_constraints",
        Reject,
        vec![&under, &not_ca],
        vec![&root],
    ));
    let no_bc = make(hand_made_ca("No BC CA", None, true, true), Some(&root));
    let under = make(leaf_params(&[NAME]), Some(&no_bc));
    out.push(case(
        "intermediate-without-basic-constraints",
        "tls.cert.chain.ca_constraints",
        Reject,
        vec![&under, &no_bc],
        vec![&root],
    ));
    let bc_nc = make(
        hand_made_ca("BC non-critical CA", Some((false, BC_CA.to_vec())), true, true),
        Some(&root),
    );
    let under = make(leaf_params(&[NAME]), Some(&bc_nc));
    out.push(
        case(
            "intermediate-basic-constraints-not-critical",
            "tls.cert.chain.ca_constraints",
            Reject,
            vec![&under, &bc_nc],
            vec![&root],
        )
        .mailpath(Warn),
    );
    let mut p = ca_params("Root not CA");
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = vec![Ku::KeyCertSign, Ku::CrlSign];
    let (root_not_ca, i, l) = rooted(p, "Issuing CA under non-CA root");
    out.push(case(
        "root-not-ca",
        "tls.cert.chain.ca_constraints",
        Reject,
        vec![&l, &i],
        vec![&root_not_ca],
    ));
    let mut p = inter_params("No keyCertSign CA");
    p.key_usages = vec![Ku::DigitalSignature, Ku::CrlSign];
    let (no_kcs, under) = ca_with_leaf(p, &root);
    out.push(case(
        "intermediate-without-keycertsign",
        "tls.cert.chain.ca_key_usage",
        Reject,
        vec![&under, &no_kcs],
        vec![&root],
    ));
    let mut p = ca_params("Root without keyCertSign");
    p.key_usages = vec![Ku::DigitalSignature];
    let root_no_kcs = make(p, None);
    let i = make(
        inter_params("Issuing CA under root without keyCertSign"),
        Some(&root_no_kcs),
    );
    let l = make(leaf_params(&[NAME]), Some(&i));
    out.push(case(
        "root-without-keycertsign",
        "tls.cert.chain.ca_key_usage",
        Reject,
        vec![&l, &i],
        vec![&root_no_kcs],
    ));
    let mut p = inter_params("No keyUsage CA");
    p.key_usages = vec![];
    let (no_ku, under) = ca_with_leaf(p, &root);
    out.push(
        case(
            "intermediate-without-keyusage",
            "tls.cert.chain.ca_key_usage",
            Reject,
            vec![&under, &no_ku],
            vec![&root],
        )
        .mailpath(Warn),
    );

    // pathLenConstraint.
    let below_pl0 = make(inter_params("CA below pathlen 0"), Some(&pl0));
    let l = make(leaf_params(&[NAME]), Some(&below_pl0));
    out.push(case(
        "pathlen-0-exceeded",
        "tls.cert.chain.path_length",
        Reject,
        vec![&l, &below_pl0, &pl0],
        vec![&root],
    ));
    let mut p = ca_params("Root pathlen 0");
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    let (root_pl0, i, l) = rooted(p, "Issuing CA under root pathlen 0");
    out.push(case(
        "root-pathlen-0-exceeded",
        "tls.cert.chain.path_length",
        Reject,
        vec![&l, &i],
        vec![&root_pl0],
    ));

    // Unknown critical extensions, anywhere.
    let mut p = leaf_params(&[NAME]);
    p.custom_extensions.push(unknown_ext(true));
    let crit = leaf(p);
    out.push(case(
        "leaf-unknown-critical-extension",
        "tls.cert.chain.critical_extensions",
        Reject,
        vec![&crit, &inter],
        vec![&root],
    ));
    let mut p = inter_params("Critical extension CA");
    p.custom_extensions.push(unknown_ext(true));
    let (crit_ca, under) = ca_with_leaf(p, &root);
    out.push(case(
        "intermediate-unknown-critical-extension",
        "tls.cert.chain.critical_extensions",
        Reject,
        vec![&under, &crit_ca],
        vec![&root],
    ));
    let mut p = ca_params("Critical extension Root");
    p.custom_extensions.push(unknown_ext(true));
    let (crit_root, i, l) = rooted(p, "Issuing CA under critical root");
    out.push(case(
        "root-unknown-critical-extension",
        "tls.cert.chain.critical_extensions",
        Reject,
        vec![&l, &i],
        vec![&crit_root],
    ));

    // Name constraints.
    let outside = make(leaf_params(&[NAME]), Some(&nc_fabrikam));
    out.push(case(
        "name-constraints-permitted-violated",
        "tls.cert.chain.name_constraints",
        Reject,
        vec![&outside, &nc_fabrikam],
        vec![&root],
    ));
    let mut p = inter_params("Not-contoso CA");
    constrain(
        &mut p,
        vec![],
        vec![GeneralSubtree::DnsName("contoso.com".into())],
    );
    let (nc_no_contoso, excluded) = ca_with_leaf(p, &root);
    out.push(case(
        "name-constraints-excluded-violated",
        "tls.cert.chain.name_constraints",
        Reject,
        vec![&excluded, &nc_no_contoso],
        vec![&root],
    ));
    let mut p = ca_params("Fabrikam-only Root");
    constrain(
        &mut p,
        vec![GeneralSubtree::DnsName("fabrikam.com".into())],
        vec![],
    );
    let (root_nc, i, l) = rooted(p, "Issuing CA under constrained root");
    out.push(case(
        "root-name-constraints-violated",
        "tls.cert.chain.name_constraints",
        Reject,
        vec![&l, &i],
        vec![&root_nc],
    ));
    let mut p = leaf_params(&[]);
    p.subject_alt_names.clear();
    p.distinguished_name = dn(NAME);
    let cn_only_outside = make(p, Some(&nc_fabrikam));
    out.push(case(
        "name-constraints-on-the-cn",
        "tls.cert.chain.name_constraints",
        Reject,
        vec![&cn_only_outside, &nc_fabrikam],
        vec![&root],
    ));
    let mut p = inter_params("No-10/8 CA");
    constrain(
        &mut p,
        vec![],
        vec![GeneralSubtree::IpAddress(CidrSubnet::V4(
            [10, 0, 0, 0],
            [255, 0, 0, 0],
        ))],
    );
    let nc_ip = make(p, Some(&root));
    let mut p = leaf_params(&[NAME, "10.0.0.5"]);
    p.distinguished_name = dn(NAME);
    let ip_excluded = make(p, Some(&nc_ip));
    out.push(case(
        "name-constraints-ip-excluded",
        "tls.cert.chain.name_constraints",
        Reject,
        vec![&ip_excluded, &nc_ip],
        vec![&root],
    ));

    // Key identifiers.
    let mut fake = inter.params.clone();
    fake.key_identifier_method = KeyIdMethod::PreSpecified(vec![0xab; 20]);
    let bad_aki = {
        let key = KeyPair::generate().unwrap();
        let cert = leaf_params(&[NAME])
            .signed_by(&key, &Issuer::from_params(&fake, &inter.key))
            .unwrap();
        Made {
            pem: cert.pem(),
            params: leaf_params(&[NAME]),
            key,
        }
    };
    out.push(case(
        "leaf-aki-mismatch",
        "tls.cert.chain.key_ids",
        Reject,
        vec![&bad_aki, &inter],
        vec![&root],
    ));
    let no_ski = make(
        hand_made_ca("No SKI CA", Some((true, BC_CA.to_vec())), false, true),
        Some(&root),
    );
    let under = make(leaf_params(&[NAME]), Some(&no_ski));
    out.push(
        case(
            "intermediate-without-ski",
            "tls.cert.chain.key_ids",
            Reject,
            vec![&under, &no_ski],
            vec![&root],
        )
        .mailpath(Warn),
    );
    let mut p = leaf_params(&[NAME]);
    p.use_authority_key_identifier_extension = false;
    let no_aki = leaf(p);
    out.push(
        case(
            "leaf-without-aki",
            "tls.cert.chain.key_ids",
            Reject,
            vec![&no_aki, &inter],
            vec![&root],
        )
        .mailpath(Warn),
    );
    let root_no_ski = make(
        hand_made_ca("Root without SKI", Some((true, BC_CA.to_vec())), false, false),
        None,
    );
    let i = make(
        inter_params("Issuing CA under root without SKI"),
        Some(&root_no_ski),
    );
    let l = make(leaf_params(&[NAME]), Some(&i));
    out.push(
        case(
            "root-without-ski",
            "tls.cert.chain.key_ids",
            Reject,
            vec![&l, &i],
            vec![&root_no_ski],
        )
        .mailpath(Warn),
    );
    out
}

struct Dirs {
    chain: PathBuf,
    leaf: PathBuf,
    untrusted: Option<PathBuf>,
    roots: PathBuf,
}

fn write(dir: &Path, c: &Case) -> Dirs {
    let d = dir.join(c.id);
    std::fs::create_dir_all(&d).unwrap();
    let chain = d.join("chain.pem");
    std::fs::write(&chain, c.chain.concat()).unwrap();
    let leaf = d.join("leaf.pem");
    std::fs::write(&leaf, &c.chain[0]).unwrap();
    let untrusted = (c.chain.len() > 1).then(|| {
        let p = d.join("untrusted.pem");
        std::fs::write(&p, c.chain[1..].concat()).unwrap();
        p
    });
    let roots = d.join("roots.pem");
    std::fs::write(&roots, c.roots.concat()).unwrap();
    Dirs {
        chain,
        leaf,
        untrusted,
        roots,
    }
}

/// mailpath's verdict and the statuses of the checks.
fn run_mailpath(c: &Case, f: &Dirs) -> (V, serde_json::Value) {
    let (out, _) = run_with_timeout(
        mailpath()
            .arg("cert")
            .arg(&f.chain)
            .arg("--ca")
            .arg(&f.roots)
            .args([
                "--name",
                c.name,
                "--at",
                "2026-11-28T12:00:00Z",
                "--format",
                "json",
            ]),
        T,
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{}: {e}: {}", c.id, text(&out)));
    let statuses: Vec<(String, String)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_string(),
                c["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let verdict = if statuses.iter().any(|(_, s)| s == "fail") {
        V::Reject
    } else if statuses
        .iter()
        .any(|(id, s)| s == "warn" && (id.starts_with("tls.cert.chain.") || id == "tls.cert.san"))
    {
        V::Warn
    } else {
        V::Accept
    };
    (verdict, v)
}

fn run_openssl(f: &Dirs, c: &Case) -> (V, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
        .arg(&f.roots)
        .args([
            "-attime",
            &now().unix_timestamp().to_string(),
            "-verify_hostname",
            c.name,
        ]);
    if let Some(u) = &f.untrusted {
        cmd.arg("-untrusted").arg(u);
    }
    cmd.arg(&f.leaf);
    let (out, _) = run_with_timeout(&mut cmd, T);
    let words = text(&out)
        .lines()
        .filter(|l| l.contains("error"))
        .collect::<Vec<_>>()
        .join(" ");
    (
        if out.status.success() {
            V::Accept
        } else {
            V::Reject
        },
        words,
    )
}

const PYCA: &str = r#"
import datetime, json, sys
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store
out = {}
for c in json.load(open(sys.argv[1])):
    try:
        roots = x509.load_pem_x509_certificates(open(c["roots"], "rb").read())
        chain = x509.load_pem_x509_certificates(open(c["chain"], "rb").read())
        at = datetime.datetime.fromisoformat(c["at"])
        verifier = PolicyBuilder().store(Store(roots)).time(at).build_server_verifier(x509.DNSName(c["name"]))
        verifier.verify(chain[0], chain[1:])
        out[c["id"]] = ["accept", ""]
    except Exception as e:
        out[c["id"]] = ["reject", str(e).splitlines()[0] if str(e) else type(e).__name__]
print(json.dumps(out))
"#;

fn pyca_available() -> bool {
    Command::new("python3")
        .args(["-c", "from cryptography.x509.verification import PolicyBuilder"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run_pyca(dir: &Path, cases: &[(&Case, Dirs)]) -> std::collections::HashMap<String, (V, String)> {
    let list: Vec<serde_json::Value> = cases
        .iter()
        .map(|(c, f)| {
            serde_json::json!({"id": c.id, "chain": f.chain, "roots": f.roots, "name": c.name,
                "at": "2026-11-28T12:00:00+00:00"})
        })
        .collect();
    let input = dir.join("pyca-cases.json");
    std::fs::write(&input, serde_json::to_vec(&list).unwrap()).unwrap();
    let script = dir.join("pyca.py");
    std::fs::write(&script, PYCA).unwrap();
    let (out, _) = run_with_timeout(Command::new("python3").arg(&script).arg(&input), T);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, r)| {
            let verdict = if r[0] == "accept" { V::Accept } else { V::Reject };
            (
                k.clone(),
                (verdict, r[1].as_str().unwrap_or_default().to_string()),
            )
        })
        .collect()
}

/// A verdict agrees with the expected one when both accept or both refuse (mailpath's warning counts as
/// accepting: it is not a red).
fn agrees(got: V, expect: V) -> bool {
    (got == V::Reject) == (expect == V::Reject)
}

#[test]
fn chain_verdicts_agree_with_the_expected_results_like_reference_verifiers() {
    let tmp = tempfile::tempdir().unwrap();
    // MAILPATH_CHAIN_CASES=DIR keeps the generated cases (chain.pem, roots.pem per case) to rerun any verifier.
    let dir =
        std::env::var_os("MAILPATH_CHAIN_CASES").map_or_else(|| tmp.path().to_path_buf(), PathBuf::from);
    let dir = dir.as_path();
    let all = cases();
    assert!(all.len() >= 40, "{} cases", all.len());
    let with_files: Vec<(&Case, Dirs)> = all.iter().map(|c| (c, write(dir, c))).collect();
    let openssl = require("openssl");
    let pyca = if pyca_available() {
        Some(run_pyca(dir, &with_files))
    } else {
        eprintln!("pyca/cryptography's verifier is not installed: not compared");
        None
    };
    let mut problems = Vec::new();
    let (mut mp_ok, mut mp_flag_ok, mut os_ok, mut py_ok) = (0, 0, 0, 0);
    eprintln!(
        "{:<48} {:<7} {:<8} {:<8} {:<8}",
        "case", "expect", "mailpath", "openssl", "pyca"
    );
    for (c, f) in &with_files {
        let (mp, report) = run_mailpath(c, f);
        if mp != c.mailpath {
            problems.push(format!("{}: mailpath says {mp:?}, want {:?}", c.id, c.mailpath));
        }
        mp_ok += usize::from(agrees(mp, c.expect));
        mp_flag_ok += usize::from((mp == V::Accept) == (c.expect == V::Accept));
        // The rule's own check says it, with words (no debug output, no Unix seconds).
        let checks = report["checks"].as_array().unwrap();
        if c.id == "cn-only-no-san" {
            // The CN matches as Exchange matches it, and the pass says so.
            match checks.iter().find(|k| k["id"] == "tls.cert.name") {
                Some(k)
                    if k["status"] == "pass"
                        && k["summary"].as_str().unwrap_or_default().contains("subject CN") => {}
                other => problems.push(format!(
                    "{}: tls.cert.name should pass saying it is the CN: {other:?}",
                    c.id
                )),
            }
        }
        if c.id == "healthy-serverauth-only" {
            // A serverAuth-only certificate, presented to EOP by the send connector: warned with Microsoft's words.
            match checks.iter().find(|k| k["id"] == "tls.cert.eku") {
                Some(k)
                    if k["status"] == "warn"
                        && k["detail"]
                            .as_str()
                            .unwrap_or_default()
                            .contains("no Microsoft statement") => {}
                other => problems.push(format!(
                    "{}: tls.cert.eku should warn with what Microsoft states: {other:?}",
                    c.id
                )),
            }
        }
        if c.check.is_empty() {
            for k in checks {
                let id = k["id"].as_str().unwrap();
                if id.starts_with("tls.cert.chain.") || id == "tls.cert.san" {
                    let s = k["status"].as_str().unwrap();
                    if s != "pass" && s != "skip" {
                        problems.push(format!("{}: healthy but {id} is {s}: {}", c.id, k["summary"]));
                    }
                }
            }
        } else {
            // One fault fails one check: a chain rule's refusal is not also an untrusted root.
            if c.check.starts_with("tls.cert.chain.")
                && let Some(k) = checks.iter().find(|k| k["id"] == "tls.cert.trusted")
                && k["status"] == "fail"
            {
                problems.push(format!("{}: tls.cert.trusted fails too: {}", c.id, k["summary"]));
            }
            let want = if c.mailpath == V::Warn { "warn" } else { "fail" };
            match checks.iter().find(|k| k["id"] == c.check) {
                Some(k) if k["status"] == want => {}
                other => problems.push(format!("{}: {} should be {want}: {other:?}", c.id, c.check)),
            }
        }
        for k in checks {
            let words = format!("{} {}", k["summary"], k["detail"]);
            if words.contains("Some(") || words.contains("UnknownIssuer") || words.contains("(UNIX)") {
                problems.push(format!("{}: {} speaks debug: {words}", c.id, k["id"]));
            }
        }
        let os = if openssl { Some(run_openssl(f, c)) } else { None };
        if let Some((v, words)) = &os {
            os_ok += usize::from(agrees(*v, c.expect));
            if !agrees(*v, c.expect) && c.openssl_wrong.is_none() {
                problems.push(format!(
                    "{}: openssl says {v:?} ({words}), expected {:?}",
                    c.id, c.expect
                ));
            }
        }
        let py = pyca.as_ref().and_then(|p| p.get(c.id));
        if let Some((v, _)) = py {
            py_ok += usize::from(agrees(*v, c.expect));
        }
        let show = |v: Option<V>| v.map_or("-".to_string(), |v| format!("{v:?}"));
        eprintln!(
            "{:<48} {:<7} {:<8} {:<8} {:<8} {}",
            c.id,
            format!("{:?}", c.expect),
            format!("{mp:?}"),
            show(os.as_ref().map(|o| o.0)),
            show(py.map(|p| p.0)),
            py.map(|p| p.1.as_str()).unwrap_or_default()
        );
    }
    let n = all.len();
    eprintln!(
        "agreement with the expected verdicts over {n} cases: mailpath {mp_ok} (counting its warnings as refusals: \
         {mp_flag_ok}), openssl {}, pyca {}",
        if openssl { os_ok.to_string() } else { "-".into() },
        if pyca.is_some() {
            py_ok.to_string()
        } else {
            "-".into()
        },
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Every case the standards refuse, mailpath flags: a red, or a warning where Windows (so Exchange and
    // Exchange Online) accepts what RFC 5280 forbids; it never passes one silently.
    assert_eq!(
        mp_flag_ok, n,
        "mailpath passed a case silently, or flagged a healthy one"
    );
    if pyca.is_some() {
        assert!(
            mp_flag_ok >= py_ok,
            "mailpath agrees {mp_flag_ok} times, pyca/cryptography {py_ok}"
        );
    }
}
