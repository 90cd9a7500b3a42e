//! Paging through `$next` (relative or absolute, never off the configured host) until it is null.
use ledger_domain::sage::{Collection, Contact, PostContact};
use ledger_sage::queries::ContactQuery;
use ledger_sage::{SageConfig, SageHttp};

use crate::support::Sim;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_follows_next_across_pages_until_it_is_null() {
    let s = Sim::start().await;
    let b = s.plus();
    for i in 0..5 {
        let body = PostContact {
            name: format!("Paged {i}"),
            contact_type_ids: vec!["CUSTOMER".into()],
            reference: Some(format!("PG{i}")),
            ..Default::default()
        };
        b.create_contact(&body).await.unwrap();
    }
    s.log.take();
    let query = ContactQuery { search: Some("Paged".into()), items_per_page: Some(2), ..Default::default() };
    let all = b.contacts(&query).await.unwrap();
    let mut names: Vec<_> = all.iter().map(|c| c.displayed_as.clone().unwrap_or_default()).collect();
    names.sort();
    assert_eq!(names.len(), 5, "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("Paged")));
    let calls = s.log.take();
    assert_eq!(calls.len(), 3, "three pages of two: {calls:?}");
    assert!(calls[0].path.starts_with("/contacts?"), "{}", calls[0].path);
    assert!(calls[1].path.contains("page=2"), "the second call is the first page's $next: {}", calls[1].path);

    let first: Collection<Contact> = b.list_page("/contacts", &query).await.unwrap();
    assert_eq!(first.items_per_page, Some(2));
    assert_eq!(first.total, Some(5));
    let second = b.next_page(&first).await.unwrap().expect("a second page");
    let third = b.next_page(&second).await.unwrap().expect("a third page");
    assert_eq!(third.items.len(), 1);
    assert!(third.next.is_none());
    assert!(b.next_page(&third).await.unwrap().is_none(), "a null $next ends the listing");
}

#[test]
fn next_links_resolve_against_the_api_base_and_never_leave_its_host() {
    let http = SageHttp::new(&SageConfig::new("https://api.example.test/v3.1/".parse().unwrap())).unwrap();
    let at = |p: &str| http.resolve(p).map(|u| u.to_string());
    assert_eq!(
        at("/contacts?page=2&items_per_page=20").unwrap(),
        "https://api.example.test/v3.1/contacts?page=2&items_per_page=20"
    );
    assert_eq!(at("/v3.1/contacts?page=3").unwrap(), "https://api.example.test/v3.1/contacts?page=3");
    assert_eq!(
        at("https://api.example.test/v3.1/contacts?page=4").unwrap(),
        "https://api.example.test/v3.1/contacts?page=4"
    );
    assert!(at("https://elsewhere.example/v3.1/contacts?page=2").is_err(), "the bearer token stays on our host");
    assert!(at("http://api.example.test/v3.1/contacts").is_err(), "nor is it downgraded to http");
    assert!(at("contacts?page=2").is_err());
}
