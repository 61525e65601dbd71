//! The names the generator keeps clear of are the ones `src/` writes by hand: every method of
//! a hand-written `impl ImagePatch` / `impl ImageListQuery` block is in
//! `naming::HAND_WRITTEN_METHODS`, and every type the crate root exports is in
//! `naming::reserved_type_names()`. When this fails, add the new name to the list.

use std::fs;
use std::path::{Path, PathBuf};

use openstack_images_codegen::naming::{HAND_WRITTEN_METHODS, reserved_type_names};

fn src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_hand_written_method_of_an_extended_type_is_reserved() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut missing = Vec::new();
    for path in files {
        let Ok(file) = syn::parse_file(&fs::read_to_string(&path).unwrap()) else {
            continue;
        };
        for item in file.items {
            let syn::Item::Impl(block) = item else {
                continue;
            };
            if block.trait_.is_some() {
                continue;
            }
            let syn::Type::Path(ty) = &*block.self_ty else {
                continue;
            };
            let ty = ty.path.segments.last().unwrap().ident.to_string();
            let Some((_, reserved)) = HAND_WRITTEN_METHODS.iter().find(|(t, _)| *t == ty) else {
                continue;
            };
            for member in block.items {
                if let syn::ImplItem::Fn(f) = member {
                    let name = f.sig.ident.to_string();
                    if !reserved.contains(&name.as_str()) {
                        missing.push(format!("{ty}::{name} ({})", path.display()));
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in HAND_WRITTEN_METHODS: {missing:?}"
    );
}

#[test]
fn every_type_the_crate_root_exports_is_reserved() {
    let file = syn::parse_file(&fs::read_to_string(src().join("lib.rs")).unwrap()).unwrap();
    let reserved = reserved_type_names();
    let mut missing = Vec::new();
    for item in file.items {
        let syn::Item::Use(u) = item else { continue };
        if !matches!(u.vis, syn::Visibility::Public(_)) {
            continue;
        }
        let mut names = Vec::new();
        leaf_names(&u.tree, &mut names);
        for name in names {
            let is_type = name.starts_with(|c: char| c.is_ascii_uppercase())
                && name.chars().any(|c| c.is_ascii_lowercase());
            if is_type && !reserved.contains(&name.as_str()) {
                missing.push(name);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "not in reserved_type_names(): {missing:?}"
    );
}

fn leaf_names(tree: &syn::UseTree, out: &mut Vec<String>) {
    match tree {
        syn::UseTree::Path(p) => leaf_names(&p.tree, out),
        syn::UseTree::Name(n) => out.push(n.ident.to_string()),
        syn::UseTree::Rename(r) => out.push(r.rename.to_string()),
        syn::UseTree::Group(g) => g.items.iter().for_each(|t| leaf_names(t, out)),
        syn::UseTree::Glob(_) => {}
    }
}
