from contracts.register.models import ContractStatus
from tests import factories
from tests.conftest import TODAY


def test_contract_list_shows_contract(login_as):
    contract = factories.make_contract(title="Renhold av Østre Aasen skole")
    client = login_as("owner")
    response = client.get("/contracts?q=øst")
    assert response.status_code == 200
    assert "Renhold av Østre Aasen skole" in response.text
    assert contract.status(TODAY) == ContractStatus.ACTIVE
