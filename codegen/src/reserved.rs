//! The names hand-written code and the prelude already use, which generated names keep
//! clear of (see [`crate::naming`]); `codegen/tests/hand_written_names.rs` reads `src/` and
//! keeps these lists complete.

/// Member names of the generated types that are not properties: the `extra` map of every
/// lenient type, and the methods of `ImageCreate` (which shares its names with `Image`'s
/// fields) that its property setters must not take, including those derived traits bring.
/// A property with one of these names gets a suffixed identifier.
pub const RESERVED_FIELDS: &[&str] = &[
    "extra",
    "new",
    "property",
    "property_value",
    "validate",
    "properties",
    "default",
    "clone",
    "eq",
    "ne",
    "fmt",
];

/// The hand-written methods of the types the generated code extends (`src/image/patch.rs`,
/// `src/image/query.rs`, `src/runtime/query.rs`), so that a generated `add_*`/`replace_*`/
/// `remove_*` or `*_eq` method can be checked against them (a test reads `src/` and keeps
/// this list complete).
pub const HAND_WRITTEN_METHODS: &[(&str, &[&str])] = &[
    (
        "ImagePatch",
        &[
            "new", "add", "replace", "remove", "op", "ops", "is_empty", "to_reach", "validate",
        ],
    ),
    (
        "ImageListQuery",
        &[
            "new",
            "filter",
            "filters",
            "page_size",
            "marker",
            "name",
            "name_in",
            "id_in",
            "id",
            "status",
            "status_in",
            "visibility",
            "all_visibilities",
            "member_status",
            "all_member_statuses",
            "owner",
            "tag",
            "tags",
            "size_min",
            "size_max",
            "protected",
            "os_hidden",
            "container_format",
            "container_format_in",
            "disk_format",
            "disk_format_in",
            "min_ram",
            "min_disk",
            "created_at",
            "updated_at",
            "sort",
            "sort_key",
            "sort_dir",
            "huawei_is_registered",
            "huawei_image_type",
            "huawei_os_bit",
            "huawei_platform",
            "huawei_os_type",
            "huawei_virtual_env_type",
            "huawei_support_kvm",
            "huawei_support_xen",
            "huawei_support_diskintensive",
            "huawei_support_highperformance",
            "huawei_support_xen_gpu_type",
            "to_pairs",
            "push_pair",
            "without_marker",
        ],
    ),
];

/// Field bases a property may not take because a generated method made from it would be a
/// hand-written one: `b` when `add_b`, `replace_b` or `remove_b` is an `ImagePatch` method,
/// or `b_eq` an `ImageListQuery` one.
pub fn reserved_method_bases() -> Vec<String> {
    let mut bases = Vec::new();
    for (ty, methods) in HAND_WRITTEN_METHODS {
        for m in *methods {
            let base = match *ty {
                "ImagePatch" => ["add_", "replace_", "remove_"]
                    .iter()
                    .find_map(|p| m.strip_prefix(p)),
                _ => m.strip_suffix("_eq"),
            };
            bases.extend(base.map(str::to_owned));
        }
    }
    bases
}

/// Type names the generated code must not define: the prelude's (generated code says `Ok`,
/// `Some`, ...), `Self`, and the names the crate root exports by hand or from the other
/// generated modules (all of them meet in one glob re-export).
pub fn reserved_type_names() -> Vec<&'static str> {
    vec![
        "Self",
        "Option",
        "Some",
        "None",
        "Result",
        "Ok",
        "Err",
        "String",
        "Vec",
        "Box",
        "ToString",
        "ToOwned",
        "Default",
        "Clone",
        "Copy",
        "Debug",
        "PartialEq",
        "Eq",
        "PartialOrd",
        "Ord",
        "Hash",
        "Send",
        "Sync",
        "Sized",
        "Drop",
        "Fn",
        "FnMut",
        "FnOnce",
        "Iterator",
        "IntoIterator",
        "Extend",
        "From",
        "Into",
        "TryFrom",
        "TryInto",
        "AsRef",
        "AsMut",
        "FromIterator",
        "Unpin",
        "Serialize",
        "Deserialize",
        "Value",
        "Map",
        "Number",
        // Replaced by `::serde_json::Number` in typify (see `read_schema`).
        "JsonNumber",
        // The crate root (src/lib.rs; a test keeps this list complete).
        "AddLocation",
        "ApiError",
        "AuthType",
        "BulkResults",
        "CacheClear",
        "CachePruned",
        "CacheState",
        "CachedImage",
        "Client",
        "ClientBuilder",
        "CloudConfig",
        "Cmp",
        "ComputeImagePaginator",
        "ComputeImageQuery",
        "ComputeImagesApi",
        "CopyImage",
        "CreateWithData",
        "DataSource",
        "Download",
        "Error",
        "ImageData",
        "ImageFeature",
        "ImageFeatures",
        "ImageJsonPaginator",
        "ImageListQuery",
        "ImageLocation",
        "ImagePaginator",
        "ImagePatch",
        "ImagesApi",
        "Import",
        "ImportInfo",
        "ImportMethod",
        "Inspection",
        "Interface",
        "JsonSchema",
        "MetadefImageRules",
        "MetadefNamespacePaginator",
        "MetadefNamespaceQuery",
        "MetadefTagPaginator",
        "MetadefsApi",
        "Page",
        "Pages",
        "Paginator",
        "PartitionTable",
        "PatchOp",
        "Progress",
        "ProjectRef",
        "PropertyRules",
        "QuotaUsage",
        "RedirectRefusal",
        "RetryPolicy",
        "SchemaKind",
        "SchemaRules",
        "SearchPath",
        "Secret",
        "ServiceType",
        "SortDir",
        "StoreDetail",
        "StoreInfo",
        "TaskPaginator",
        "TokenCache",
        "TransportKind",
        "UnknownValue",
        "UnsafeReason",
        "Upload",
        "ValueKind",
        "CleanupFailure",
        "DeleteOnDrop",
        "Hasher",
        "SchemaChange",
        "SchemaDrift",
        "Catalog",
        "CatalogError",
        "CatalogErrors",
        "CatalogImage",
        "Checksum",
        "ChecksumAlgorithm",
        "ImageSource",
        "ImageVersion",
        // The generated types (each module defines its own; the others are taken).
        "Image",
        "Member",
        "Task",
        "ImageCreate",
        "ComputeImage",
        "ComputeLink",
        "ComputeImageServer",
        "MetadefNamespace",
        "MetadefObject",
        "MetadefProperty",
        "MetadefPropertyItems",
        "MetadefTag",
        "MetadefResourceType",
        "MetadefResourceTypeAssociation",
    ]
}

/// The names a struct's fields may not take: `extra` for the lenient types (which have that
/// map), and for `Image` also the names its create builder's setters may not take (they are
/// the same names) and those whose patch or filter methods would be hand-written ones.
pub fn reserved_fields(type_name: &str, lenient: bool) -> Vec<String> {
    match (type_name, lenient) {
        ("Image", _) => RESERVED_FIELDS
            .iter()
            .map(|s| (*s).to_owned())
            .chain(reserved_method_bases())
            .collect(),
        (_, true) => vec!["extra".to_owned()],
        (_, false) => Vec::new(),
    }
}
