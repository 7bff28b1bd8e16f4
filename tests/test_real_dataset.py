"""The real dataset through the product's own download path (skipped when it is unavailable)."""

SHARED_ZIP_SHA256 = "d4eeb21657f12f096e1281b69d6ef8848436731340d42a8d91c572325e18ffd2"


def test_real_split_has_the_study_sizes_and_identity(real_split, real_data_url):
    assert real_split.class_names == ("cats", "dogs")
    sizes = {k: len(v) for k, v in real_split.splits.items()}
    assert sizes == {"train": 2000, "validation": 808, "test": 192}
    assert real_split.skipped == ()
    assert real_split.data_source == real_data_url
    if real_data_url.endswith("shared/data/cats_and_dogs_filtered.zip"):
        assert real_split.dataset_sha256 == SHARED_ZIP_SHA256
    test_labels = real_split.labels("test")
    assert 0.35 < sum(test_labels) / len(test_labels) < 0.65
