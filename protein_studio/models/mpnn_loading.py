"""Loading ProteinMPNN's published weights into :class:`~protein_studio.models.mpnn_network.ProteinMPNN`.

The file is checked against its published SHA-256 first (:func:`~protein_studio.models.mpnn_weights.
check_weights_file`), then read with ``torch.load(weights_only=True)``; its ``num_edges`` must be the
registry's neighbour count and its state dict must fill the network exactly (no missing or extra tensors).
torch is imported inside the function.
"""

from __future__ import annotations

from protein_studio.core.errors import ModelUnavailableError
from protein_studio.models.devices import select_device
from protein_studio.models.locations import checkpoint_path, file_identity, not_on_disk_message
from protein_studio.models.mpnn_weights import check_weights_file
from protein_studio.models.safe_load import safe_torch_load
from protein_studio.models.spec import LoadedModel, ModelSpec

__all__ = ["load_proteinmpnn"]


def load_proteinmpnn(spec: ModelSpec, device="auto") -> LoadedModel:
    """The ProteinMPNN model ``spec`` in eval mode, float32, on ``device``.

    Raises
    ------
    ModelUnavailableError
        The weights are not on disk (the message says how to get them), or the file is not the published one.
    """
    import torch

    from protein_studio.models.mpnn_network import ProteinMPNN

    path = checkpoint_path(spec)
    if not path.is_file():
        raise ModelUnavailableError(not_on_disk_message(spec))
    check_weights_file(spec.name, path)
    data = safe_torch_load(path)
    architecture = spec.architecture
    if not isinstance(data, dict) or "model_state_dict" not in data:
        raise ModelUnavailableError(f"{path}: not a ProteinMPNN weight file (no model_state_dict)")
    if int(data.get("num_edges", -1)) != architecture["neighbours"]:
        raise ModelUnavailableError(f"{path}: {data.get('num_edges')} neighbours, {spec.name} has "
                                    f"{architecture['neighbours']}")
    network = ProteinMPNN(ca_only=architecture["ca_only"], neighbours=architecture["neighbours"],
                          width=architecture["width"], layers=architecture["layers"])
    network.load_state_dict(data["model_state_dict"], strict=True)
    target = select_device(device) if isinstance(device, str) else device
    network = network.to(target).eval()
    return LoadedModel(spec=spec, model=network, device=target, dtype=torch.float32,
                       weights_identity=file_identity(path))
