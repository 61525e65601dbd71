//! Decoding of whatever a server may send: image pages, images, members, tasks, Nova images.
//! Lenient types must never panic; a failure is an `Err`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use openstack_images::{ComputeImage, Image, Member, Task};

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Page {
    images: Vec<Image>,
    next: Option<String>,
}

fuzz_target!(|data: &[u8]| {
    if let Ok(image) = serde_json::from_slice::<Image>(data) {
        // What decodes re-encodes, and decodes again to the same image.
        let again = serde_json::to_vec(&image).expect("an image encodes");
        let back: Image = serde_json::from_slice(&again).expect("an encoded image decodes");
        assert_eq!(back.id, image.id);
        let _ = image.custom_property_str("os_distro");
        let _ = image.custom_property_i64("min_ram");
        let _ = image.custom_property_bool("protected");
    }
    let mut de = serde_json::Deserializer::from_slice(data);
    let _ = serde_path_to_error::deserialize::<_, Page>(&mut de).map_err(|e| e.path().to_string());
    let _ = serde_json::from_slice::<Vec<Member>>(data);
    let _ = serde_json::from_slice::<Task>(data);
    let _ = serde_json::from_slice::<ComputeImage>(data);
});
