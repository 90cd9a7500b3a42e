//! Contacts: the deterministic Sage `reference` of a Magento customer per currency (≤ 10 characters,
//! unique per business), the B2C fallback contact, and the `postContacts`/`putContacts` bodies.
//!
//! References, after the binding's optional 1–3 character prefix `P`:
//! - `P` `C` base36(id): a customer in the business's base currency (`C16` for customer 42);
//! - `P` `F` CUR base36(id): the same customer in a foreign currency (`FEUR16`);
//! - `P` `G` base36(sha256(email, currency)): a guest, by e-mail;
//! - `P` `B2C` CUR: the B2C fallback contact of a currency.
//!
//! The scheme letter after the prefix keeps the forms apart, so two customers, or one customer in two
//! currencies, never share a reference. Ids that do not fit refuse to map rather than collide: without
//! a prefix, base-currency ids up to 36⁹ and foreign-currency ids up to 36⁶ (2.1 billion) fit; each
//! prefix character divides the foreign range by 36. Bindings sharing a business need prefixes of which
//! none starts another (one fixed length is simplest).
use sha2::{Digest, Sha256};

use super::text::{opt_text, truncate};
use super::{MapError, SkipReason};
use crate::Currency;
use crate::magento::{Address, AddressKind, Contact};
use crate::policy::SyncPolicy;
use crate::sage::{PostAddress, PostContact, PostContactPerson, PutContact};
use rust_decimal::Decimal;

/// Sage's limit on a contact reference.
pub const MAX_REFERENCE: usize = 10;

const DIGITS: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn base36(mut n: u128) -> String {
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]);
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

fn fits(reference: String) -> Result<String, MapError> {
    if reference.len() <= MAX_REFERENCE {
        Ok(reference)
    } else {
        Err(MapError::Unmappable(format!(
            "the contact reference {reference} is longer than Sage's {MAX_REFERENCE} characters: the customer id \
             is too large for this reference prefix"
        )))
    }
}

/// The reference of `customer`'s Sage contact in `currency`.
pub fn contact_reference(
    prefix: Option<&str>,
    customer: &Contact,
    currency: &Currency,
    base_currency: &Currency,
) -> Result<String, MapError> {
    let prefix = prefix.unwrap_or("");
    match customer.magento_id {
        Some(id) if currency == base_currency => fits(format!("{prefix}C{}", base36(u128::from(u64::from(id))))),
        Some(id) => fits(format!("{prefix}F{currency}{}", base36(u128::from(u64::from(id))))),
        None => {
            let email = customer.email.trim().to_lowercase();
            if email.is_empty() {
                return Err(MapError::Unmappable(
                    "a guest order without an e-mail address has no contact: enable b2c in the sync policy".into(),
                ));
            }
            let digest = Sha256::digest(format!("{email}|{currency}").as_bytes());
            let mut n = [0u8; 16];
            n.copy_from_slice(&digest[..16]);
            let hash = base36(u128::from_be_bytes(n));
            let room = MAX_REFERENCE.saturating_sub(prefix.len() + 1);
            Ok(format!("{prefix}G{}", &hash[..room.min(hash.len())]))
        }
    }
}

/// The reference of the B2C fallback contact of `currency`.
pub fn b2c_reference(prefix: Option<&str>, currency: &Currency) -> String {
    format!("{}B2C{currency}", prefix.unwrap_or(""))
}

/// Whether a document of `customer` for `grand_total` posts to the B2C fallback contact: guests only,
/// when the policy enables it and the total is under its threshold (if any).
pub fn uses_b2c(policy: &SyncPolicy, customer: &Contact, grand_total: Decimal) -> bool {
    customer.is_guest() && policy.b2c.enabled && policy.b2c.threshold.is_none_or(|t| grand_total < t)
}

/// Whether `customer.upserted` syncs: registered customers of a website in `website_ids` (guests have
/// no customer record and arrive only inside documents).
pub fn contact_scope(customer: &Contact, policy: &SyncPolicy) -> Result<(), SkipReason> {
    match &policy.website_ids {
        Some(ids) if !customer.is_guest() && !ids.contains(&customer.website_id) => Err(SkipReason::StoreNotSynced),
        _ => Ok(()),
    }
}

/// The display name of a customer: company, else first and last name, else e-mail.
pub fn contact_name(customer: &Contact) -> String {
    let person = [customer.first_name.as_deref(), customer.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    let name = opt_text(customer.company.as_deref(), 100)
        .or_else(|| opt_text(Some(&person), 100))
        .or_else(|| opt_text(Some(&customer.email), 100))
        .unwrap_or_else(|| "Magento customer".to_owned());
    truncate(&name, 100)
}

fn person_name(customer: &Contact) -> Option<String> {
    let person = [customer.first_name.as_deref(), customer.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    opt_text(Some(&person), 50)
}

/// A Magento address as a Sage contact address (Sage's length limits applied).
pub fn post_address(address: &Address, address_type_id: &str) -> PostAddress {
    let mut street = address.street.iter().map(|s| s.trim()).filter(|s| !s.is_empty());
    let line_1 = street.next().map(str::to_owned);
    let rest: Vec<&str> = street.collect();
    PostAddress {
        address_line_1: opt_text(line_1.as_deref(), 50),
        address_line_2: opt_text(Some(&rest.join(", ")), 50),
        city: opt_text(Some(&address.city), 50),
        postal_code: opt_text(address.postcode.as_deref(), 10),
        region: opt_text(address.region.as_deref(), 50),
        country_id: opt_text(Some(&address.country_id), 2).map(|c| c.to_ascii_uppercase()),
        address_type_id: Some(address_type_id.to_owned()),
        ..PostAddress::default()
    }
}

fn address_of(customer: &Contact, kind: AddressKind) -> Option<&Address> {
    customer.addresses.iter().find(|a| a.kind == kind)
}

/// The `postContacts` body of `customer`'s contact in `currency` (a `CUSTOMER`; `currency_id` only for
/// a foreign currency, since Start refuses it and the base currency is Sage's default).
pub fn post_contact(customer: &Contact, reference: &str, currency: &Currency, base_currency: &Currency) -> PostContact {
    let billing = address_of(customer, AddressKind::Billing).or_else(|| customer.addresses.first());
    let shipping = address_of(customer, AddressKind::Shipping);
    let phone = customer.phone.as_deref().or_else(|| billing.and_then(|a| a.telephone.as_deref()));
    PostContact {
        name: contact_name(customer),
        contact_type_ids: vec!["CUSTOMER".to_owned()],
        reference: Some(reference.to_owned()),
        currency_id: (currency != base_currency).then(|| currency.to_string()),
        main_address: billing.map(|a| post_address(a, "SALES")),
        delivery_address: shipping.map(|a| post_address(a, "DELIVERY")),
        main_contact_person: Some(PostContactPerson {
            name: person_name(customer),
            telephone: opt_text(phone, 50),
            email: opt_text(Some(&customer.email), 100),
            is_main_contact: Some(true),
            ..PostContactPerson::default()
        }),
        ..PostContact::default()
    }
}

/// The `putContacts` body: the complete record again (the engine always sends whole records).
pub fn put_contact(customer: &Contact, reference: &str, currency: &Currency, base_currency: &Currency) -> PutContact {
    post_contact(customer, reference, currency, base_currency)
}

/// A digest (SHA-256, hex) of the contact body the ledger sends, kept with the contact's
/// cross-reference. The module sends `customer.upserted` at most once per customer a month
/// (magento-protocol 1.4), so an edit reaches the ledger inside the next document: the engine PUTs the
/// contact when the document's customer no longer gives the digest it wrote last.
pub fn contact_fingerprint(body: &PutContact) -> String {
    let mut plain = body.clone();
    plain.idempotency_id = None;
    hex::encode(Sha256::digest(serde_json::to_vec(&plain).unwrap_or_default()))
}

/// The B2C fallback contact of `currency`.
pub fn b2c_contact(reference: &str, currency: &Currency, base_currency: &Currency) -> PostContact {
    PostContact {
        name: format!("Web sales ({currency})"),
        contact_type_ids: vec!["CUSTOMER".to_owned()],
        reference: Some(reference.to_owned()),
        currency_id: (currency != base_currency).then(|| currency.to_string()),
        ..PostContact::default()
    }
}

#[cfg(test)]
#[path = "contact_tests.rs"]
mod tests;
