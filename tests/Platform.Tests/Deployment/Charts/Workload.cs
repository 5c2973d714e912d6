using k8s.Models;

namespace Platform.Tests.Deployment.Charts;

/// <summary>
/// A chart's one workload, through what a Deployment (the gateway) and a StatefulSet (ingest, whose pods keep a volume
/// each) have in common, so the policy tests hold for both.
/// </summary>
internal sealed record Workload(string Kind, V1ObjectMeta Metadata, V1LabelSelector Selector, int? Replicas, V1PodTemplateSpec Template)
{
    public V1PodSpec Pod => Template.Spec;

    public V1Container Container => Assert.Single(Template.Spec.Containers);

    public static Workload Of(IEnumerable<object> objects)
    {
        var workload = Assert.Single(objects, o => o is V1Deployment or V1StatefulSet);
        return workload switch
        {
            V1Deployment d => new Workload("Deployment", d.Metadata, d.Spec.Selector, d.Spec.Replicas, d.Spec.Template),
            V1StatefulSet s => new Workload("StatefulSet", s.Metadata, s.Spec.Selector, s.Spec.Replicas, s.Spec.Template),
            _ => throw new InvalidOperationException("unreachable"),
        };
    }
}
