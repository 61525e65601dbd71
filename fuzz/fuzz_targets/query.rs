//! List queries built from arbitrary operations: building and `to_pairs` never panic.
#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use openstack_images::{Cmp, ImageListQuery, ImageStatus, SortDir};

fn cmp(u: &mut Unstructured) -> arbitrary::Result<Cmp> {
    Ok(*u.choose(&[Cmp::Gt, Cmp::Gte, Cmp::Lt, Cmp::Lte, Cmp::Eq, Cmp::Neq])?)
}

fn dir(u: &mut Unstructured) -> arbitrary::Result<SortDir> {
    Ok(if bool::arbitrary(u)? {
        SortDir::Asc
    } else {
        SortDir::Desc
    })
}

fn build(u: &mut Unstructured) -> arbitrary::Result<ImageListQuery> {
    let mut q = ImageListQuery::new();
    for _ in 0..u.int_in_range(0..=24)? {
        let s = String::arbitrary(u)?;
        q = match u.int_in_range(0..=21)? {
            0 => q.page_size(u64::arbitrary(u)?),
            1 => q.marker(&s),
            2 => q.name(s),
            3 => q.name_in(Vec::<String>::arbitrary(u)?),
            4 => q.id_in(Vec::<String>::arbitrary(u)?),
            5 => q.id(&s),
            6 => q.status(ImageStatus::from(s.as_str())),
            7 => q.owner(&s),
            8 => q.tag(s),
            9 => q.size_min(u64::arbitrary(u)?),
            10 => q.size_max(u64::arbitrary(u)?),
            11 => q.protected(bool::arbitrary(u)?),
            12 => q.os_hidden(bool::arbitrary(u)?),
            13 => q.min_ram(u64::arbitrary(u)?),
            14 => q.min_disk(u64::arbitrary(u)?),
            15 => q.created_at(cmp(u)?, s),
            16 => q.updated_at(cmp(u)?, s),
            17 => q.sort(s, dir(u)?),
            18 => q.sort_key(s),
            19 => q.sort_dir(dir(u)?),
            20 => q.filter(s, String::arbitrary(u)?),
            _ => q.all_visibilities(),
        };
    }
    Ok(q)
}

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    if let Ok(q) = build(&mut u) {
        if let Ok(pairs) = q.to_pairs() {
            // Every pair makes a valid URL query.
            let mut url = url::Url::parse("http://glance.example/v2/images").unwrap();
            url.query_pairs_mut().extend_pairs(&pairs);
            let back: Vec<(String, String)> = url.query_pairs().into_owned().collect();
            assert_eq!(back, pairs);
        }
    }
});
