"""The contract engine: load and validate a mapping contract, compile it,
and map documents to rows with it (pure functions: no threads, no database).

    contract = load_contract(path)                    # ContractError lists every problem
    compiled = compile_contract(contract, MapOptions(now=...))
    result = compiled.map_document(xml_bytes_or_str)  # MappedRecord | RecordFailure
"""

from xmlshred.contract.compiler import CompiledContract, MapOptions, compile_contract, contract_schema
from xmlshred.contract.fingerprint import contract_fingerprint, fingerprint_file
from xmlshred.contract.lineage import LineageError, record_lineage
from xmlshred.contract.loader import check_contract, contract_from_dict, load_contract
from xmlshred.contract.model import Contract, ContractError, ContractReport

__all__ = [
    "load_contract",
    "check_contract",
    "contract_from_dict",
    "compile_contract",
    "contract_schema",
    "MapOptions",
    "ContractError",
    "Contract",
    "CompiledContract",
    "ContractReport",
    "contract_fingerprint",
    "fingerprint_file",
    "record_lineage",
    "LineageError",
]
