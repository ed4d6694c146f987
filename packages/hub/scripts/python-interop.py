"""Python half of the interop check (huggingface_hub against the fake Hub); see python-interop.sh.

download ENDPOINT CACHE LISTING_OUT: hf_hub_download every file of the tiny repo into CACHE and
    write the repo folder's tree listing (the committed fixture) to LISTING_OUT.
read-offline CACHE: with HF_HUB_OFFLINE=1, load every file from a cache that Node wrote.
"""
import json
import os
import sys

REPO = "onnx-community/tiny-pali"
FILES = [
    "config.json",
    "tokenizer.json",
    "onnx/decoder_model_merged_q4.onnx",
    "onnx/decoder_model_merged_q4.onnx_data",
]


def listing(repo_folder):
    out = []
    for root, dirs, files in os.walk(repo_folder):
        dirs.sort()
        for name in sorted(files):
            abs_path = os.path.join(root, name)
            rel = os.path.relpath(abs_path, repo_folder).replace(os.sep, "/")
            if os.path.islink(abs_path):
                out.append({"path": rel, "type": "symlink", "target": os.readlink(abs_path)})
            elif rel.startswith("refs/"):
                with open(abs_path) as f:
                    out.append({"path": rel, "type": "file", "text": f.read()})
            else:
                out.append({"path": rel, "type": "file", "size": os.path.getsize(abs_path)})
    return sorted(out, key=lambda e: e["path"])


def main():
    mode = sys.argv[1]
    if mode == "download":
        endpoint, cache, listing_out = sys.argv[2:5]
        os.environ["HF_ENDPOINT"] = endpoint  # read when huggingface_hub is imported
        os.environ["HF_HUB_DISABLE_XET"] = "1"
        import huggingface_hub
        from huggingface_hub import hf_hub_download

        for f in FILES:
            hf_hub_download(REPO, f, cache_dir=cache)
        folder = os.path.join(cache, "models--onnx-community--tiny-pali")
        data = {
            "generator": f"huggingface_hub {huggingface_hub.__version__} hf_hub_download, packages/hub/scripts/python-interop.sh",
            "repo": REPO,
            "files": FILES,
            "tree": listing(folder),
        }
        with open(listing_out, "w") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        print(f"python downloaded {len(FILES)} files with huggingface_hub {huggingface_hub.__version__}")
    elif mode == "read-offline":
        cache = sys.argv[2]
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["HF_ENDPOINT"] = "http://127.0.0.1:9"  # nothing listens there: any request would fail
        from huggingface_hub import hf_hub_download, try_to_load_from_cache

        for f in FILES:
            path = hf_hub_download(REPO, f, cache_dir=cache)
            assert try_to_load_from_cache(REPO, f, cache_dir=cache) == path
            print(f"python read {f} offline from the Node cache: {os.path.getsize(path)} bytes")
    else:
        raise SystemExit(__doc__)


main()
